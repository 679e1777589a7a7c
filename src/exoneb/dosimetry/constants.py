"""Physical constants used by the dose engine, in SI units.

Every value is named with its unit so that a reader never has to guess whether a
density is in g/cm³ or kg/m³. Sources are given next to each constant; the
section numbers refer to ``shared/reference/dosimetry.md``.
"""

from __future__ import annotations

from typing import Final

# --- Airway conditions -----------------------------------------------------------------------

#: Body (airway) temperature, 37 °C, in K. ICRP/Ferron airway convention (§6.1).
BODY_TEMPERATURE_K: Final = 310.15

#: Standard atmospheric pressure, Pa (ISO 2533 / CGPM definition of 1 atm).
STANDARD_PRESSURE_PA: Final = 101325.0

#: Default relative humidity of airway air, as a fraction (ICRP/Ferron convention,
#: 99.5 % RH at 37 °C; [unverified] in §6.1). Expose it: droplet size is very sensitive to it.
DEFAULT_AIRWAY_RELATIVE_HUMIDITY: Final = 0.995

# --- Fundamental constants (CODATA 2018, exact or recommended) -------------------------------

#: Standard acceleration of gravity, m/s² (CGPM 1901, exact).
GRAVITY_M_S2: Final = 9.80665

#: Boltzmann constant, J/K (SI 2019, exact).
BOLTZMANN_J_K: Final = 1.380649e-23

#: Molar gas constant, J/(mol·K) (CODATA 2018).
GAS_CONSTANT_J_MOL_K: Final = 8.314462618

# --- Air and water -----------------------------------------------------------------------------

#: Molar mass of dry air, kg/mol (ISO 2533 / US Standard Atmosphere 1976), used in the
#: kinetic-theory mean free path (§6.2).
AIR_MOLAR_MASS_KG_MOL: Final = 0.0289647

#: Molar mass of water, kg/mol (IUPAC), used in the water activity and Kelvin term (§6.1).
WATER_MOLAR_MASS_KG_MOL: Final = 0.018015

#: Density of liquid water at 37 °C, kg/m³ (IAPWS-95). With it the Kelvin factors of the §6.1
#: table (1.00395 at 0.5 µm) are reproduced; 1000 kg/m³ would give 1.00393.
WATER_DENSITY_KG_M3: Final = 993.33

#: Surface tension of water at 37 °C, N/m (IAPWS 2014 release, computed with iapws 1.5.5; §6.2).
WATER_SURFACE_TENSION_37C_N_M: Final = 0.0701

#: Reference density of the aerodynamic-diameter definition, kg/m³ (1 g/cm³; §6.2).
UNIT_DENSITY_KG_M3: Final = 1000.0

# --- Saline and solute -------------------------------------------------------------------------

#: Isotonic saline concentration, as a mass/volume fraction (0.9 % w/v = 9 g per litre).
ISOTONIC_SALINE_W_V: Final = 0.009

#: Density of isotonic (0.9 % w/v) saline, kg/m³, about 1.0046 g/mL at 20–25 °C (CRC
#: Handbook, NaCl(aq) density table), rounded as in §6.2.
ISOTONIC_SALINE_DENSITY_KG_M3: Final = 1005.0

#: Density of crystalline NaCl, kg/m³ (2.165 g/cm³; §6.2, CRC Handbook).
NACL_CRYSTAL_DENSITY_KG_M3: Final = 2165.0

#: Molar mass of NaCl, kg/mol (IUPAC atomic weights: 22.98977 + 35.453 g/mol).
NACL_MOLAR_MASS_KG_MOL: Final = 0.058443

#: Van 't Hoff factor of NaCl (ions per formula unit), used with the osmotic coefficient.
NACL_IONS_PER_FORMULA_UNIT: Final = 2
