"""First start: preload the embedded synthetic city into an empty store (its data as
observations, so the README's lines work at once) and, when the store has no token, make an
admin token and write it to ``<data-dir>/admin-token`` (mode 0600)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from cityfocus.serve.datadir import ADMIN_TOKEN, write_secret
from cityfocus.serve.store.engine import Store
from cityfocus.serve.store.tables import City

PRELOADED = "synthetic"


@dataclass(frozen=True)
class Bootstrapped:
    """What the first start did: the city it preloaded, the admin token file it wrote."""

    preloaded: str | None = None
    admin_token: Path | None = None
    admin_token_needed: bool = False


def bootstrap(store: Store) -> Bootstrapped:
    """Preload the synthetic city into an empty store; make the first admin token when the
    store has none (written to the data folder; with ``--db`` there is no folder, so none is
    made and ``admin_token_needed`` says to make one with ``cityfocus token create``)."""
    from cityfocus.serve.cities.service import add_city, card_summary
    from cityfocus.serve.tokens.service import count_tokens, create_token

    preloaded = None
    admin: Path | None = None
    needed = False
    with store.session() as session:
        if not session.scalar(select(func.count()).select_from(City)):
            from cityfocus.data.readers import load_dataset

            add_city(session, load_dataset(PRELOADED), name=PRELOADED,
                     card=card_summary(PRELOADED))
            preloaded = PRELOADED
        if count_tokens(session) == 0:
            if store.data_dir is not None:
                _, secret = create_token(session, "admin", name="first admin token")
                admin = store.data_dir / ADMIN_TOKEN
                write_secret(admin, secret)
            else:
                needed = True
    return Bootstrapped(preloaded, admin, needed)
