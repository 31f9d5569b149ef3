"""/v1/profiles and /v1/models: what a request may name."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api import deps
from app.api.catalog_client import CatalogError, CatalogUnavailable
from app.api.errors import ApiError
from app.api.routes.generations import ERRORS
from app.api.schemas import SOFTWARE, Model, ProfileDetail, ProfileSummary
from worker import models
from worker.settings import Settings

router = APIRouter(prefix="/v1", tags=["catalog"], dependencies=[Depends(deps.api_key)], responses=ERRORS)
_SOFTWARE = {
    "name": SOFTWARE,
    "hash": None,
    "description": "No chip: the model in float torch with torch's RNG, the baseline every chip result is compared with.",
}


def _call(fn, *args):
    try:
        return fn(*args)
    except CatalogUnavailable as error:
        raise ApiError(
            503, "catalog_unavailable", f"{error}; try again in a few seconds", headers={"Retry-After": "5"}
        ) from None


@router.get("/profiles", response_model=list[ProfileSummary], summary="Hardware profiles (and 'software')")
def list_profiles(catalog=Depends(deps.catalog)) -> list[dict]:
    return _call(catalog.list) + [_SOFTWARE]


@router.get("/profiles/{name}", response_model=ProfileDetail, summary="One profile with all its parameters")
def get_profile(name: str, catalog=Depends(deps.catalog)) -> dict:
    if name == SOFTWARE:
        return {**_SOFTWARE, "profile": None}
    try:
        return _call(catalog.get, name)
    except CatalogError as error:
        raise ApiError(404, "profile_not_found", str(error), "name") from None


@router.get("/models", response_model=list[Model], summary="Models a request may name")
def list_models(config: Settings = Depends(deps.settings)) -> list[dict]:
    return models.catalog(config)
