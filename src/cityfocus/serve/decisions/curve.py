"""``POST /cities/{city}/whatif/curve``: the objective and the shadow price across budgets,
each solved exactly on the cached forecast (nothing stored): how much each extra unit of
budget buys, the curve an operator reads before asking for more."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.cities.service import city_state
from cityfocus.serve.contract import error_responses
from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.decisions.schemas import DecisionRequest, Task
from cityfocus.serve.decisions.service import normalized, solve_on
from cityfocus.serve.deps import get_cache, get_session
from cityfocus.serve.errors import Unprocessable

MAX_BUDGETS = 200


class CurveRequest(Task):
    """The decision request of ``/whatif`` with ``budgets`` (up to 200) instead of one
    ``budget``."""

    budgets: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        min_length=1, max_length=MAX_BUDGETS)


class CurvePoint(BaseModel):
    budget: float
    objective: float
    shadow_price: float = Field(description="what one more unit of budget would add there")


class Curve(BaseModel):
    city: str
    family: str
    units: bool
    horizon: int
    points: list[CurvePoint] = Field(description="one per budget, in the order asked")


router = APIRouter(prefix="/cities/{city}", tags=["decisions"],
                   responses=error_responses(401, 403, 404))


@router.post("/whatif/curve", response_model=Curve, dependencies=[Depends(require("read"))],
             responses=error_responses(400))
def post_curve(city: str, body: CurveRequest, session: Session = Depends(get_session),
               cache: ForecastCache = Depends(get_cache)) -> Curve:
    """The objective and shadow price at each budget, solved exactly on the cached forecast;
    not stored."""
    return Curve.model_validate(objective_curve(session, cache, city, body))


def objective_curve(session: Session, cache: ForecastCache, city_name: str,
                    request: CurveRequest) -> dict[str, Any]:
    """The exact objective and shadow price of the request at each of its budgets.

    Raises:
        Unprocessable: a budget the solver refuses (its reason, naming the budget).
    """
    city = city_state(session, city_name)
    fields = request.model_dump(exclude={"budgets"})
    # one read of the city and one forecast for every budget: only the budget changes
    body = normalized(DecisionRequest.model_validate({**fields,
                                                      "budget": request.budgets[0]}), city)
    cached = cache.get_for(session, city, body["horizon"])
    points = []
    for k, budget in enumerate(request.budgets):
        try:
            solved = solve_on(cached, {**body, "budget": float(budget)})
        except Unprocessable as err:
            raise Unprocessable(f"budget {budget:g}: {err.message}", ["body", "budgets", k]
                                ) from None
        points.append({"budget": float(budget), "objective": float(solved.allocation.objective),
                       "shadow_price": float(solved.allocation.shadow_price)})
    return {"city": city.name, "family": body["family"], "units": body["units"],
            "horizon": body["horizon"], "points": points}
