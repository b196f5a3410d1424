"""What a model call costs, from its usage and a price table.

Prices are US dollars per million tokens, the public list prices of current Claude
models. Cache writes cost 1.25x the input price with the 5-minute TTL and 2x with the
one-hour TTL; cache reads cost 0.1x. Override the table with SPECMILL_PRICES (JSON:
{"model-prefix": {"input": 3.0, "output": 15.0}}).
"""

from __future__ import annotations

import json
import os

from pydantic import BaseModel

from specmill.models import Usage


class Price(BaseModel):
    input: float
    output: float
    cache_read_factor: float = 0.1
    cache_write_factor_5m: float = 1.25
    cache_write_factor_1h: float = 2.0


DEFAULT_PRICES: dict[str, Price] = {
    "claude-fable-5-1": Price(input=10.0, output=50.0, cache_read_factor=0.025),
    "claude-mythos-5-1": Price(input=10.0, output=50.0, cache_read_factor=0.025),
    "claude-fable-5": Price(input=10.0, output=50.0),
    "claude-mythos-5": Price(input=10.0, output=50.0),
    "claude-opus-5-5": Price(input=4.0, output=20.0, cache_read_factor=0.05),
    "claude-opus-5": Price(input=5.0, output=25.0),
    "claude-opus-4-8": Price(input=5.0, output=25.0),
    "claude-opus-4-7": Price(input=5.0, output=25.0),
    "claude-opus-4-6": Price(input=5.0, output=25.0),
    "claude-opus-4-5": Price(input=5.0, output=25.0),
    "claude-opus-4": Price(input=15.0, output=75.0),
    "claude-sonnet-5-5": Price(input=2.0, output=10.0),
    "claude-sonnet-5": Price(input=2.0, output=10.0),
    "claude-sonnet-4": Price(input=3.0, output=15.0),
    "claude-haiku-5-5": Price(input=0.10, output=0.50),
    "claude-haiku-4-5": Price(input=1.0, output=5.0),
    "claude-3-5-haiku": Price(input=0.8, output=4.0),
}
FALLBACK = Price(input=15.0, output=75.0)  # an unknown model is priced high, so a budget errs on the safe side


def price_for(model: str, table: dict[str, Price] | None = None) -> Price:
    """The longest matching prefix wins, so 'claude-sonnet-4-5-20250929' finds 'claude-sonnet-4'."""
    table = table or prices()
    matches = [prefix for prefix in table if model.startswith(prefix)]
    return table[max(matches, key=len)] if matches else FALLBACK


def prices() -> dict[str, Price]:
    table = dict(DEFAULT_PRICES)
    extra = os.environ.get("SPECMILL_PRICES")
    if extra:
        table.update({k: Price(**v) for k, v in json.loads(extra).items()})
    return table


def cost_usd(model: str, usage: Usage, cache_ttl: str = "5m") -> float:
    price = price_for(model)
    write_factor = price.cache_write_factor_1h if cache_ttl == "1h" else price.cache_write_factor_5m
    millions = (
        usage.input_tokens * price.input
        + usage.cache_read_input_tokens * price.input * price.cache_read_factor
        + usage.cache_creation_input_tokens * price.input * write_factor
        + usage.output_tokens * price.output
    )
    return millions / 1_000_000


def worst_case_usd(model: str, input_tokens: int, max_output_tokens: int, cache_ttl: str = "5m") -> float:
    """The most the next call can cost: all input written to the cache, every output token used."""
    return cost_usd(model, Usage(cache_creation_input_tokens=input_tokens, output_tokens=max_output_tokens), cache_ttl)
