"""IEEE 11073-10101 (MDC) codes exoneb maps from bedside monitors (interop.md §3.1).

Each numeric code = partition · 65536 + term code (partition 2 = SCADA), with
its MDC unit, the UCUM unit it becomes, and the LOINC code for a later FHIR
export. Codes outside this table are kept by the parser as unmapped readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "MDC_BY_REFID",
    "MDC_CODES",
    "PLAUSIBLE_RANGES",
    "MdcMapping",
    "VitalParameter",
]


class VitalParameter(StrEnum):
    """Vital signs exoneb maps from MDC codes."""

    SPO2 = "spo2"
    PULSE_RATE = "pulse_rate"
    HEART_RATE = "heart_rate"
    TEMPERATURE = "temperature"
    NIBP_SYSTOLIC = "nibp_systolic"
    NIBP_DIASTOLIC = "nibp_diastolic"
    NIBP_MEAN = "nibp_mean"


@dataclass(frozen=True, slots=True)
class MdcMapping:
    """An IEEE 11073-10101 metric with its expected unit (interop.md §3.1 table)."""

    code: int
    refid: str
    parameter: VitalParameter
    unit_code: int
    unit_refid: str
    ucum: str
    loinc: str
    measure: str | None  # the Observation field it feeds, None if none


MDC_CODES: Mapping[int, MdcMapping] = MappingProxyType(
    {
        m.code: m
        for m in (
            MdcMapping(
                150456,
                "MDC_PULS_OXIM_SAT_O2",
                VitalParameter.SPO2,
                262688,
                "MDC_DIM_PERCENT",
                "%",
                "59408-5",
                "spo2_pct",
            ),
            MdcMapping(
                149530,
                "MDC_PULS_OXIM_PULS_RATE",
                VitalParameter.PULSE_RATE,
                264864,
                "MDC_DIM_BEAT_PER_MIN",
                "/min",
                "8867-4",
                "heart_rate_per_min",
            ),
            MdcMapping(
                147842,
                "MDC_ECG_HEART_RATE",
                VitalParameter.HEART_RATE,
                264864,
                "MDC_DIM_BEAT_PER_MIN",
                "/min",
                "8867-4",
                "heart_rate_per_min",
            ),
            MdcMapping(
                150364,
                "MDC_TEMP_BODY",
                VitalParameter.TEMPERATURE,
                268192,
                "MDC_DIM_DEGC",
                "Cel",
                "8310-5",
                "temperature_c",
            ),
            MdcMapping(
                150021,
                "MDC_PRESS_BLD_NONINV_SYS",
                VitalParameter.NIBP_SYSTOLIC,
                266016,
                "MDC_DIM_MMHG",
                "mm[Hg]",
                "8480-6",
                "sbp_mmhg",
            ),
            MdcMapping(
                150022,
                "MDC_PRESS_BLD_NONINV_DIA",
                VitalParameter.NIBP_DIASTOLIC,
                266016,
                "MDC_DIM_MMHG",
                "mm[Hg]",
                "8462-4",
                "dbp_mmhg",
            ),
            MdcMapping(
                150023,
                "MDC_PRESS_BLD_NONINV_MEAN",
                VitalParameter.NIBP_MEAN,
                266016,
                "MDC_DIM_MMHG",
                "mm[Hg]",
                "",
                None,
            ),
        )
    }
)
"""MDC code → mapping, from interop.md §3.1 (SpO2 150456 = 2·65536 + 19384, etc.)."""

MDC_BY_REFID: Mapping[str, MdcMapping] = MappingProxyType({m.refid: m for m in MDC_CODES.values()})

# Plausible ranges for device values (beyond them the value is an error, not physiology).
PLAUSIBLE_RANGES: Mapping[VitalParameter, tuple[float, float]] = MappingProxyType(
    {
        VitalParameter.SPO2: (0.0, 100.0),
        VitalParameter.PULSE_RATE: (0.0, 350.0),
        VitalParameter.HEART_RATE: (0.0, 350.0),
        VitalParameter.TEMPERATURE: (25.0, 45.0),
        VitalParameter.NIBP_SYSTOLIC: (0.0, 350.0),
        VitalParameter.NIBP_DIASTOLIC: (0.0, 250.0),
        VitalParameter.NIBP_MEAN: (0.0, 300.0),
    }
)
