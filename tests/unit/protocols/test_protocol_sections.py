"""Protocol step sections: the demo equals the step defaults, overrides reach the steps,
and a malformed section is refused naming its section and field (or rule id)."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import timedelta
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from exoneb.assessment.eligibility import load_default_eligibility_rules
from exoneb.core.config import PROTOCOLS_DIR
from exoneb.inhalation.regimens import (
    EXOSOME_INHALATION,
    REGIMENS,
    SALINE_NEBULIZATION,
    STANDARD_INHALED_CARE,
)
from exoneb.monitoring.alerts import AlertParameters
from exoneb.monitoring.citations import sources_of
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.escalation import EscalationAction, recommend_3plus3
from exoneb.monitoring.schedule import ScheduleParameters
from exoneb.monitoring.stopping import StoppingParameters
from exoneb.preparation.dose import plan_dose
from exoneb.preparation.lifecycle import HoldPolicy
from exoneb.preparation.release import ReleaseCriteria
from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile
from exoneb.protocols.sections import (
    AlertSection,
    DischargeSection,
    ReleaseSection,
    ScheduleSection,
    StoppingSection,
)

_DEMO_TEXT = (PROTOCOLS_DIR / "demo-exo-01.yaml").read_text("utf-8")


def _demo() -> dict[str, Any]:
    """A fresh, mutable copy of the demo protocol's data."""
    data = yaml.safe_load(_DEMO_TEXT)
    assert isinstance(data, dict)
    return data


def _demo_protocol() -> ProtocolFile:
    demo = registry.get(PROTOCOLS_DIR, "demo-exo-01")
    assert demo is not None
    return demo


def _refusal(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as err:
        ProtocolFile.model_validate(data)
    return str(err.value)


# --- the demo protocol ships the step defaults ---------------------------------------------


def test_demo_has_every_step_section() -> None:
    demo = _demo()
    for section in (
        "eligibility",
        "escalation",
        "release_criteria",
        "preparation",
        "inhalation",
        "monitoring",
        "discharge",
    ):
        assert section in demo, section


@pytest.mark.parametrize(
    ("mapping", "default"),
    [
        ("release_criteria", ReleaseCriteria()),
        ("hold_policy", HoldPolicy()),
        ("schedule_parameters", ScheduleParameters()),
        ("alert_parameters", AlertParameters()),
        ("stopping_parameters", StoppingParameters()),
        ("discharge_parameters", DischargeParameters()),
    ],
)
def test_demo_mappings_equal_the_step_defaults(mapping: str, default: object) -> None:
    assert getattr(_demo_protocol(), mapping)() == default


def test_demo_eligibility_is_the_default_rule_set() -> None:
    assert _demo_protocol().eligibility_rules() == load_default_eligibility_rules()


def test_demo_dose_arguments_equal_plan_dose_defaults() -> None:
    args = _demo_protocol().dose_arguments()
    defaults = inspect.signature(plan_dose).parameters
    assert set(args) == {"compensate_residual", "volume_step_ml", "max_rounding_deviation"}
    for name, value in args.items():
        assert value == defaults[name].default, name


def test_demo_regimens_are_the_built_in_ones_with_their_default_devices() -> None:
    """The exosome regimen is the package default; the comparators only narrow devices."""
    regimens = _demo_protocol().regimens()
    assert list(regimens) == [
        EXOSOME_INHALATION.id,
        SALINE_NEBULIZATION.id,
        STANDARD_INHALED_CARE.id,
    ]
    assert regimens[EXOSOME_INHALATION.id] == EXOSOME_INHALATION
    for rid in (SALINE_NEBULIZATION.id, STANDARD_INHALED_CARE.id):
        narrowed = regimens[rid]
        assert narrowed.allowed_device_kinds <= REGIMENS[rid].allowed_device_kinds
        assert dataclasses.replace(
            narrowed, allowed_device_kinds=REGIMENS[rid].allowed_device_kinds,
            source=REGIMENS[rid].source,
        ) == REGIMENS[rid]  # fmt: skip
    assert _demo_protocol().blinded_product_name() is None  # the demo is open-label


def test_demo_monitoring_sources_are_the_step_citations() -> None:
    demo = _demo_protocol()
    assert demo.monitoring is not None
    assert demo.discharge is not None
    assert demo.monitoring.alerts.sources() == sources_of(AlertParameters)
    assert demo.monitoring.schedule.sources() == sources_of(ScheduleParameters)
    assert demo.monitoring.stopping.sources() == sources_of(StoppingParameters)
    assert demo.discharge.sources() == sources_of(DischargeParameters)


def test_demo_escalation_orders_the_arms_for_3plus3() -> None:
    demo = _demo_protocol()
    assert demo.escalation_levels() == {"DL1": 1, "DL2": 2, "DL3": 3, "DL4": 4}
    assert demo.escalation is not None
    table = demo.escalation.cohort_levels({"DL1": (3, 0)})
    assert [(c.level, c.treated) for c in table] == [(1, 3), (2, 0), (3, 0), (4, 0)]
    rec = recommend_3plus3(table)
    assert (rec.action, rec.level) == (EscalationAction.ESCALATE, 2)
    with pytest.raises(ValueError, match="DL9"):
        demo.escalation.cohort_levels({"DL9": (3, 0)})


@pytest.mark.parametrize(
    ("section", "params"),
    [
        (ScheduleSection, ScheduleParameters),
        (AlertSection, AlertParameters),
        (StoppingSection, StoppingParameters),
        (DischargeSection, DischargeParameters),
        (ReleaseSection, ReleaseCriteria),
    ],
)
def test_sections_cover_every_step_parameter(section: type, params: type) -> None:
    """A threshold added to a step dataclass must become settable in the protocol too."""
    assert set(section.model_fields) == {f.name for f in dataclasses.fields(params)}


# --- overrides reach the steps --------------------------------------------------------------


def test_overridden_values_reach_the_parameter_objects() -> None:
    data = _demo()
    data["monitoring"]["alerts"]["spo2_floor_pct"] = {"value": 91, "source": "site SOP 12"}
    data["monitoring"]["schedule"]["routine_minimum_min"] = {"value": 20, "source": "site"}
    data["monitoring"]["stopping"]["pause_cohort_rules"] = {
        "value": ["related_sae", "anaphylaxis"],
        "source": "DMC charter",
    }
    data["discharge"]["airway_min_fraction"] = {"value": 0.85, "source": "sponsor"}
    data["release_criteria"]["endotoxin_max_eu_per_ml"] = {"value": 0.25, "source": "STTT"}
    data["release_criteria"]["size_mode_nm"] = {"low_nm": 60, "high_nm": 300, "source": "s"}
    data["preparation"]["hold"] = {"max_hold_min": 240, "condition": "2–8 °C", "source": "s"}
    data["preparation"]["compensate_residual"] = {"value": True, "source": "sponsor"}
    data["inhalation"]["regimens"][0]["allowed_device_kinds"] = ["vibrating-mesh"]
    protocol = ProtocolFile.model_validate(data)

    assert protocol.alert_parameters() == AlertParameters(spo2_floor_pct=91.0)
    assert protocol.schedule_parameters() == ScheduleParameters(routine_minimum_min=20)
    assert protocol.stopping_parameters() == StoppingParameters(
        pause_cohort_rules=frozenset({"related_sae", "anaphylaxis"})
    )
    assert protocol.discharge_parameters() == DischargeParameters(airway_min_fraction=0.85)
    assert protocol.monitoring is not None
    assert protocol.monitoring.alerts.sources()["spo2_floor_pct"] == "site SOP 12"

    criteria = protocol.release_criteria()
    default = ReleaseCriteria()
    assert criteria.endotoxin_max_eu_per_ml == dataclasses.replace(
        default.endotoxin_max_eu_per_ml, value=0.25, source="STTT"
    )
    assert (criteria.size_mode_nm.low, criteria.size_mode_nm.high) == (60.0, 300.0)
    assert criteria.size_mode_nm.unit == default.size_mode_nm.unit
    assert criteria.sterility == default.sterility

    assert protocol.hold_policy() == HoldPolicy(
        max_hold=timedelta(hours=4), condition="2–8 °C", source="s"
    )
    assert protocol.dose_arguments()["compensate_residual"] is True
    regimen = protocol.regimens()["exosome-inhalation"]
    assert regimen.allowed_device_kinds == frozenset({"vibrating-mesh"})
    assert regimen.source == data["inhalation"]["regimens"][0]["source"]


def test_a_section_may_set_only_some_values() -> None:
    data = _demo()
    data["monitoring"] = {"alerts": {"spo2_critical_pct": {"value": 86, "source": "s"}}}
    data["preparation"] = {"hold": {"source": "sponsor stability report 7"}}
    protocol = ProtocolFile.model_validate(data)
    assert protocol.alert_parameters() == AlertParameters(spo2_critical_pct=86.0)
    assert protocol.schedule_parameters() == ScheduleParameters()
    assert protocol.hold_policy() == HoldPolicy(source="sponsor stability report 7")
    assert protocol.dose_arguments() == {}


# --- a protocol without the step sections ---------------------------------------------------


def test_protocol_without_step_sections_loads_with_step_defaults() -> None:
    data = _demo()
    for section in (
        "eligibility",
        "escalation",
        "release_criteria",
        "preparation",
        "inhalation",
        "monitoring",
        "discharge",
    ):
        del data[section]
    protocol = ProtocolFile.model_validate(data)
    assert protocol.eligibility_rules() == load_default_eligibility_rules()
    assert protocol.release_criteria() == ReleaseCriteria()
    assert protocol.hold_policy() == HoldPolicy()
    assert protocol.dose_arguments() == {}
    assert protocol.regimens() == REGIMENS
    assert protocol.schedule_parameters() == ScheduleParameters()
    assert protocol.alert_parameters() == AlertParameters()
    assert protocol.stopping_parameters() == StoppingParameters()
    assert protocol.discharge_parameters() == DischargeParameters()
    assert protocol.escalation_levels() == {}


# --- malformed sections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        ("monitoring.alerts.spo2_floor_pct.value", "low", "number"),
        ("monitoring.alerts.spo2_floor_pct.value", 190, "less than or equal to 100"),
        ("monitoring.schedule.grace_min.value", -5, "greater than or equal to 0"),
        ("monitoring.stopping.fever_c.value", 30, "greater than or equal to 37"),
        ("discharge.airway_min_fraction.value", 90, "less than 1"),
        ("discharge.follow_up_max_attempts.value", 0, "greater than or equal to 1"),
        ("discharge.follow_up_local_time.value", "7:00", "should match pattern"),
        ("release_criteria.endotoxin_max_eu_per_ml.value", 0, "greater than 0"),
        ("release_criteria.sterility.expected", "positive", "negative"),
        ("preparation.hold.max_hold_min", 0, "greater than 0"),
        ("preparation.volume_step_ml.value", -1, "greater than 0"),
    ],
)
def test_malformed_value_names_section_and_field(where: str, value: object, says: str) -> None:
    data = _demo()
    *parents, leaf = where.split(".")
    target = data
    for key in parents:
        target = target[key]
    target[leaf] = value
    message = _refusal(data)
    assert where in message
    assert says in message


def test_value_without_source_is_refused() -> None:
    data = _demo()
    del data["monitoring"]["alerts"]["spo2_floor_pct"]["source"]
    message = _refusal(data)
    assert "monitoring.alerts.spo2_floor_pct.source" in message
    assert "Field required" in message


def test_unknown_key_in_a_section_is_refused() -> None:
    data = _demo()
    data["monitoring"]["alerts"]["spo2_flor_pct"] = {"value": 80, "source": "typo"}
    assert "monitoring.alerts.spo2_flor_pct" in _refusal(data)


def test_inconsistent_values_are_refused_by_the_steps_own_checks() -> None:
    data = _demo()
    data["monitoring"]["alerts"]["airway_fall_stop_pct"]["value"] = 12  # below asymptomatic 15
    message = _refusal(data)
    assert "monitoring.alerts" in message
    assert "airway thresholds" in message

    data = _demo()
    data["monitoring"]["stopping"]["pause_cohort_rules"]["value"] = ["related_sea"]
    message = _refusal(data)
    assert "monitoring.stopping" in message
    assert "related_sea" in message

    data = _demo()
    data["monitoring"]["schedule"]["routine_vitals_min"]["value"] = [15, 0]
    message = _refusal(data)
    assert "monitoring.schedule" in message
    assert "routine_vitals_min" in message


def test_reversed_size_window_is_refused() -> None:
    data = _demo()
    data["release_criteria"]["size_window_nm"]["low_nm"] = 500
    message = _refusal(data)
    assert "release_criteria.size_window_nm" in message
    assert "low_nm 500 is above high_nm 400" in message


@pytest.mark.parametrize(
    ("kinds", "says"),
    [
        (["toaster"], "not in the device catalog"),
        (["dpi"], "may only narrow"),
    ],
)
def test_regimen_devices_must_exist_and_only_narrow(kinds: list[str], says: str) -> None:
    data = _demo()
    data["inhalation"]["regimens"][0]["allowed_device_kinds"] = kinds
    message = _refusal(data)
    assert "inhalation.regimens.0" in message
    assert says in message


def test_unknown_regimen_is_refused_listing_the_known_ones() -> None:
    data = _demo()
    data["inhalation"]["regimens"][0]["id"] = "exosome-inhalaton"
    message = _refusal(data)
    assert "unknown regimen 'exosome-inhalaton'" in message
    assert "saline-nebulization" in message


def test_escalation_levels_must_be_arm_codes() -> None:
    data = _demo()
    data["escalation"]["levels"] = ["DL1", "DL9"]
    assert "escalation.levels" in _refusal(data)
    data["escalation"]["levels"] = ["DL1", "DL1"]
    assert "escalation.levels" in _refusal(data)


def test_the_dlt_window_is_required_with_its_source_and_a_positive_number_of_days() -> None:
    data = _demo()
    window = data["escalation"]["dlt_window_days"]
    assert window["value"] == 28  # clinical.md §1.2: IPF EV 3+3, DLT window to day 28
    assert "clinical.md §1.2" in window["source"]
    del data["escalation"]["dlt_window_days"]
    assert "escalation.dlt_window_days" in _refusal(data)
    for bad in (0, -3, 400, 2.5):
        data["escalation"]["dlt_window_days"] = {"value": bad, "source": "x"}
        assert "escalation.dlt_window_days" in _refusal(data), bad
    data["escalation"]["dlt_window_days"] = {"value": 21}
    assert "escalation.dlt_window_days.source" in _refusal(data)


# --- eligibility goes through the assessment loader ----------------------------------------


def test_eligibility_rule_with_unknown_fact_names_the_rule_id() -> None:
    data = _demo()
    rule = data["eligibility"]["rules"][0]
    rule["needs"] = ["shoe_size_eu"]
    rule["pass_if"] = {"fact": "shoe_size_eu", "op": "<", "value": 50}
    message = _refusal(data)
    assert "eligibility" in message
    assert f"rule {rule['id']!r}" in message
    assert "unknown fact 'shoe_size_eu'" in message


def test_eligibility_comparison_unsuited_to_the_fact_type_is_refused() -> None:
    data = _demo()
    rule = next(r for r in data["eligibility"]["rules"] if r["id"] == "inc-age-min")
    rule["pass_if"] = {"fact": "age_years", "op": "is_true"}
    message = _refusal(data)
    assert "rule 'inc-age-min'" in message
    assert "age_years" in message


def test_registry_reports_a_broken_section_with_the_file_name(tmp_path: Any) -> None:
    data = _demo()
    data["discharge"]["max_symptom_grade"]["value"] = 9
    (tmp_path / "demo-exo-01.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(registry.ProtocolFileError, match=r"demo-exo-01\.yaml") as err:
        registry.load_all(tmp_path)
    assert "discharge.max_symptom_grade.value" in str(err.value)


def test_api_output_is_a_valid_protocol_file() -> None:
    """``/api/v1/protocols`` serialises with aliases; what it sends must load back unchanged."""
    demo = _demo_protocol()
    sent = demo.model_dump(mode="json", by_alias=True)
    assert "release_criteria" in sent
    assert ProtocolFile.model_validate(sent) == demo
