# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""SEP-41 token events of Soroban operations (stellar/go `contract_events.go`).

Any contract's `transfer`, `mint`, `burn`, `clawback` event with an i128 amount is a token
event; its contract address is the emitting contract. When the last topic names a SEP-11
asset whose Stellar Asset Contract id is the emitting contract, the event gets that asset.
Transaction meta v3 (before CAP-67) has admin topics in mint and clawback and reports the
SAC's mints and burns as transfers, which are then classified by issuer like a classic
payment; meta v4 has neither quirk and may carry `to_muxed_id` in a data map.
An event that is not a SEP-41 token event is skipped, as in the reference.
"""

from __future__ import annotations

from stellar_sdk import xdr as X

from ttp_arrow_processor.errors import present
from ttp_arrow_processor.events import (
    BURN,
    CLAWBACK,
    MINT,
    TRANSFER,
    EventScope,
    MuxedInfo,
    TokenTransferEvent,
)
from ttp_arrow_processor.movements import movement
from ttp_arrow_processor.strkeys import (
    asset_from_name,
    asset_name,
    contract_id,
    sac_contract_address,
    sc_address,
)

_V = X.SCValType
# Topic counts that identify a SAC event, per meta version (the last topic is the asset).
_SAC_TOPICS = {
    3: {BURN: 3, TRANSFER: 4, MINT: 4, CLAWBACK: 4},
    4: {TRANSFER: 4, MINT: 3, CLAWBACK: 3, BURN: 3},
}


class NotTokenEvent(ValueError):
    """A contract event that is not a SEP-41 token event (skipped, never an error)."""


def _i128(value: X.SCVal) -> int:
    if value.type != _V.SCV_I128:
        raise NotTokenEvent("amount is not an i128")
    parts = value.i128
    return (int(parts.hi.int64) << 64) | int(parts.lo.uint64)


def _address(value: X.SCVal) -> str:
    if value.type != _V.SCV_ADDRESS:
        raise NotTokenEvent("topic is not an address")
    return sc_address(present(value.address, "SCVal.address"))


def _muxed_info(value: X.SCVal) -> MuxedInfo | None:
    if value.type == _V.SCV_U64:
        return MuxedInfo("id", str(value.u64.uint64))
    if value.type == _V.SCV_BYTES:
        return MuxedInfo("hash", value.bytes.sc_bytes.ljust(32, b"\0")[:32].hex())
    if value.type == _V.SCV_STRING:
        return MuxedInfo("text", value.str.sc_string.decode("utf-8", "replace"))
    raise NotTokenEvent("to_muxed_id of an unknown type")


def _v4_amount(data: X.SCVal) -> tuple[int, MuxedInfo | None]:
    if data.type != _V.SCV_MAP:
        return _i128(data), None
    if data.map is None:
        raise NotTokenEvent("empty data map")
    amount, info = None, None
    for entry in data.map.sc_map:
        if entry.key.type != _V.SCV_SYMBOL:
            raise NotTokenEvent("data map key is not a symbol")
        key = entry.key.sym.sc_symbol.decode()
        if key == "amount":
            amount = _i128(entry.val)
        elif key == "to_muxed_id":
            info = _muxed_info(entry.val)
    if amount is None:
        raise NotTokenEvent("no amount in data map")
    return amount, info


def _token_event(
    scope: EventScope, name: str, version: int, topics: list[X.SCVal], data: X.SCVal, contract: str
) -> TokenTransferEvent:
    amount, info = (_i128(data), None) if version == 3 else _v4_amount(data)
    meta = scope.meta(contract)
    # v3 mint and clawback carry the admin first: skip it (after checking it is an address).
    first = 2 if version == 3 and name in (MINT, CLAWBACK) else 1
    if first == 2:
        _address(topics[1])
    if name == TRANSFER:
        if len(topics) < 3:
            raise NotTokenEvent("transfer needs from and to")
        event = TokenTransferEvent(
            TRANSFER, meta, None, amount, _address(topics[1]), _address(topics[2])
        )
    elif name in (MINT, CLAWBACK, BURN):
        if len(topics) <= first:
            raise NotTokenEvent(f"{name} needs an address")
        address = _address(topics[first])
        if name == MINT:
            event = TokenTransferEvent(MINT, meta, None, amount, to_address=address)
        else:
            event = TokenTransferEvent(name, meta, None, amount, from_address=address)
    else:
        raise NotTokenEvent(f"{name} is not a token event")
    return event.with_muxed_info(info) if info is not None else event


def _sac_asset(
    topics: list[X.SCVal], name: str, version: int, contract: str, passphrase: str
) -> X.Asset | None:
    if len(topics) != _SAC_TOPICS[version].get(name) or topics[-1].type != _V.SCV_STRING:
        return None
    try:
        asset = asset_from_name(topics[-1].str.sc_string.decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return asset if sac_contract_address(asset, passphrase) == contract else None


def token_event(scope: EventScope, event: X.ContractEvent) -> TokenTransferEvent | None:
    """The token transfer event of one contract event, or None when it is not one."""
    version = scope.tx.meta.v
    body = event.body
    if (
        event.type != X.ContractEventType.CONTRACT
        or event.contract_id is None
        or body.v != 0
        or version not in (3, 4)
    ):
        return None
    topics, data = list(body.v0.topics), body.v0.data
    if len(topics) < 2 or topics[0].type != _V.SCV_SYMBOL:
        return None
    name = topics[0].sym.sc_symbol.decode("utf-8", "replace")
    contract = contract_id(event.contract_id)
    try:
        parsed = _token_event(scope, name, version, topics, data, contract)
    except NotTokenEvent:
        return None
    asset = _sac_asset(topics, name, version, contract, scope.passphrase)
    if asset is None:
        return parsed
    if version == 3 and parsed.kind == TRANSFER:
        assert parsed.from_address is not None and parsed.to_address is not None
        return movement(
            scope,
            asset,
            parsed.from_address,
            parsed.to_address,
            parsed.amount,
            with_muxed_info=False,
        )
    return TokenTransferEvent(
        parsed.kind,
        parsed.meta,
        asset_name(asset),
        parsed.amount,
        parsed.from_address,
        parsed.to_address,
    )


def operation_token_events(scope: EventScope) -> list[TokenTransferEvent]:
    assert scope.op_index is not None
    events = (token_event(scope, event) for event in scope.tx.contract_events(scope.op_index))
    return [event for event in events if event is not None]
