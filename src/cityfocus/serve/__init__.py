"""``cityfocus serve``: the live service over a store of observations and decisions.

Layout (FastAPI's "bigger applications" shape): one package per resource (``cities``,
``observations``, ``decisions``, ``tokens``), each with ``schemas.py`` (the pydantic
contract), ``service.py`` (plain library functions taking a SQLAlchemy session, testable
without HTTP) and ``router.py`` (thin routes: validate, call one service function, answer).
``store`` holds the SQLAlchemy tables, the engine (SQLite pragmas, PostgreSQL by URL) and the
Alembic migrations shipped in the package; ``app.create_app`` wires it together. See
docs/serve.md.
"""
