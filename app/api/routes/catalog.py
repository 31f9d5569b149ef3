"""/v1/profiles and /v1/models: what a request may name.

The profiles come from `device.profiles` in this process (numba-free, like everything the API imports).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api import deps
from app.api.errors import ApiError
from app.api.routes.generations import ERRORS
from app.api.schemas import SOFTWARE, Model, ProfileDetail, ProfileSummary
from device import profiles
from device.errors import ProfileError
from worker import models
from worker.settings import Settings

router = APIRouter(prefix="/v1", tags=["catalog"], dependencies=[Depends(deps.api_key)], responses=ERRORS)
_SOFTWARE = {
    "name": SOFTWARE,
    "hash": None,
    "description": "No chip: the model in float torch with torch's RNG, the baseline every chip result is compared with.",
}


def _summary(profile: profiles.HardwareProfile) -> dict:
    return {"name": profile.name, "description": profile.description, "hash": profile.hash}


@router.get("/profiles", response_model=list[ProfileSummary], summary="Hardware profiles (and 'software')")
def list_profiles() -> list[dict]:
    return [_summary(p) for p in profiles.list_profiles()] + [_SOFTWARE]


@router.get("/profiles/{name}", response_model=ProfileDetail, summary="One profile with all its parameters")
def get_profile(name: str) -> dict:
    if name == SOFTWARE:
        return {**_SOFTWARE, "profile": None}
    try:
        profile = profiles.get_profile(name)
    except ProfileError as error:
        raise ApiError(404, "profile_not_found", str(error), "name") from None
    return {**_summary(profile), "profile": profile.to_dict()}


@router.get("/models", response_model=list[Model], summary="Models a request may name")
def list_models(config: Settings = Depends(deps.settings)) -> list[dict]:
    return models.catalog(config)
