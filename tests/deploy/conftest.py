"""Fixtures of the deploy tests: the pinned helm and every chart variant, rendered once per session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from .support import Rendered, helm_binary, helm_template, variant_values


@pytest.fixture(scope="session")
def helm() -> str:
    return helm_binary()


@pytest.fixture(scope="session")
def rendered(helm: str) -> dict[str, Rendered]:
    variants = variant_values()
    with ThreadPoolExecutor(max_workers=len(variants)) as pool:
        texts = dict(
            zip(
                variants,
                pool.map(lambda args: helm_template(helm, args).stdout, variants.values()),
                strict=True,
            )
        )
    return {name: Rendered.parse(name, text) for name, text in texts.items()}
