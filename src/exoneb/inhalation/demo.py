"""Demo data for step 3: the demo clinic's nebulizer register.

Created through :func:`exoneb.inhalation.service.register_device`, so the rows
carry ordinary audit entries. The devices cover the catalog link found from
make and model (Aerogen Solo, PARI LC Plus), a generic link (a jet nebulizer
not in the catalog) and the warnings a nurse should see (an ultrasonic device
with a heat-sensitive product, a device not validated with the product), and
two inhalers for standard inhaled care (a pMDI and a DPI, each mapped to its
catalog inhaler by id).
"""

from __future__ import annotations

from exoneb.core.context import Ctx
from exoneb.inhalation import service
from exoneb.inhalation.schemas import DeviceIn

DEMO_DEVICES: tuple[DeviceIn, ...] = (
    DeviceIn(make="Aerogen", model="Solo", kind="vibrating-mesh", serial_or_lot="AS-2026-0042",
             interface="mouthpiece", validated_with_product=True,
             note="Validated with MSC-EV lot EV-DEMO-01 (size and integrity after nebulization)."),
    DeviceIn(make="Aerogen", model="Solo", kind="vibrating-mesh", serial_or_lot="AS-2026-0043",
             interface="valved-mask", validated_with_product=True),
    DeviceIn(make="PARI", model="LC Plus", kind="breath-enhanced-jet",
             serial_or_lot="PARI-LC-7781", interface="mouthpiece"),
    DeviceIn(make="Clinic", model="Mini jet", kind="jet", serial_or_lot="LOT-J-2211",
             interface="open-aerosol-mask"),
    DeviceIn(make="Generic", model="Ultrasonic 1.7 MHz", kind="ultrasonic",
             serial_or_lot="US-0007", interface="mouthpiece",
             note="Kept for saline only: heats the liquid."),
    DeviceIn(make="Teva", model="Qvar 100", kind="pmdi", serial_or_lot="QV-24-118",
             interface="mouthpiece", catalog_id="pmdi-extrafine",
             note="Standard inhaled care arm: extrafine HFA beclomethasone, 100 µg per puff."),
    DeviceIn(make="AstraZeneca", model="Oxis Turbuhaler", kind="dpi", serial_or_lot="TH-24-052",
             interface="mouthpiece", catalog_id="dpi-turbuhaler",
             note="Standard inhaled care arm: formoterol, 9 µg per inhalation."),
)  # fmt: skip


def seed_devices(ctx: Ctx) -> int:
    """Register the demo devices (the actor must be allowed to manage devices): how many."""
    for data in DEMO_DEVICES:
        service.register_device(ctx=ctx, data=data)
    return len(DEMO_DEVICES)
