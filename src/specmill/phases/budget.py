"""Budget: a model call that could cross the run's cap is not made."""

from __future__ import annotations

from specmill.errors import BudgetExhausted
from specmill.models import BudgetGuard, ModelRequest
from specmill.ports import Model
from specmill.pricing import worst_case_usd


def check_budget(model: Model, request: ModelRequest, guard: BudgetGuard) -> int:
    """Measure the request and compare its worst case with what is left; return its input tokens."""
    tokens = model.count_tokens(request)
    budget = guard.budget
    if budget.usd is not None:
        worst = worst_case_usd(request.model, tokens, request.max_tokens, guard.cache_ttl)
        if guard.spent_usd + worst > budget.usd:
            raise BudgetExhausted(
                f"budget exhausted: spent ${guard.spent_usd:.4f} of ${budget.usd:.4f}, and the next call "
                f"({tokens} input tokens, up to {request.max_tokens} output) could cost ${worst:.4f}; "
                "resume with a higher cap (--budget-usd)"
            )
    if budget.tokens is not None and guard.spent_tokens + tokens + request.max_tokens > budget.tokens:
        raise BudgetExhausted(
            f"budget exhausted: {guard.spent_tokens} of {budget.tokens} tokens spent, and the next call could use "
            f"{tokens + request.max_tokens}; resume with a higher cap (--budget-tokens)"
        )
    return tokens
