"""Hello endpoints."""

from fastapi import APIRouter

router = APIRouter(prefix="/hello", tags=["hello"])


@router.get("/{name}")
def say_hello(name: str) -> dict[str, str]:
    """Greet someone by name."""
    return {"message": f"Hello, {name}!"}
