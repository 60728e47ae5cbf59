"""Risk thresholds are shares with medium below high: a bad pair is refused by launchpad name."""

import pytest

from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.rollback.impact import RiskThresholds


def test_the_defaults_and_a_full_share_are_accepted() -> None:
    assert RiskThresholds().assess(changed=5, rows=100) == "Medium"
    assert RiskThresholds(medium_share=0.5, high_share=1).assess(changed=100, rows=100) == "High"


@pytest.mark.parametrize(
    ("medium", "high", "field"),
    [
        (0.0, 0.1, "risk_medium_share"),
        (-0.01, 0.1, "risk_medium_share"),
        (float("nan"), 0.1, "risk_medium_share"),
        (0.01, 1.5, "risk_high_share"),
        (0.01, 0.0, "risk_high_share"),
        (0.2, 0.1, "risk_medium_share, risk_high_share"),
        (0.1, 0.1, "risk_medium_share, risk_high_share"),
    ],
)
def test_shares_outside_zero_to_one_or_out_of_order_are_refused(
    medium: float, high: float, field: str
) -> None:
    with pytest.raises(InvalidInputError, match=f"^field '{field}': ") as refused:
        RiskThresholds(medium_share=medium, high_share=high)
    assert refused.value.field == field


def test_a_share_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="field 'risk_high_share': expected a number"):
        RiskThresholds(medium_share=0.01, high_share="0.5")  # type: ignore[arg-type]
