"""events: list (full and incremental sync, singleEvents expansion, paging), get, insert (client
ids, 409 duplicate, conferenceData createRequest), patch/update (If-Match → 412), delete (410 on
gone). Every change notifies the calendar's watch channels."""

from __future__ import annotations

import copy
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from . import events_model as em
from .calendar_list import READ_SCOPES, WRITE_SCOPES, Access, resolve
from .channels import notify
from .paging import first_page, next_page
from .state import Calendar, Event, SyncPoint, User, new_event_id, new_token
from .web import Ctx, GoogleError, json_response, no_content, route

E = "/calendar/v3/calendars/<calendar_id>/events"
# Fields a client may set; everything else in a request body is ignored (server-owned fields).
WRITABLE = (
    "summary",
    "description",
    "location",
    "start",
    "end",
    "status",
    "transparency",
    "visibility",
    "attendees",
    "extendedProperties",
    "recurrence",
    "reminders",
    "colorId",
    "guestsCanModify",
    "guestsCanInviteOthers",
    "guestsCanSeeOtherGuests",
    "source",
    "eventType",
)
# Parameters Google refuses next to a syncToken.
NOT_WITH_SYNC = (
    "timeMin",
    "timeMax",
    "orderBy",
    "q",
    "iCalUID",
    "privateExtendedProperty",
    "sharedExtendedProperty",
    "updatedMin",
)


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bool(ctx: Ctx, name: str) -> bool:
    value = ctx.request.args.get(name, "false").lower()
    if value not in ("true", "false"):
        raise GoogleError(400, "invalid", f"Invalid value for: {name}")
    return value == "true"


def touch(state_seq: int, data: dict[str, Any]) -> None:
    """A change: a new etag and `updated`."""
    data["etag"] = f'"{3400000000000000 + state_seq}"'
    data["updated"] = rfc3339_now()


def _changed(ctx: Ctx, ev: Event) -> None:
    """Under the state lock: record a change of `ev` for sync tokens and etags."""
    ev.seq = ctx.app.state.next_seq()
    touch(ev.seq, ev.data)


# --- conference data -------------------------------------------------------------------------------


def _meet_code() -> str:
    def part(n: int) -> str:
        return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))

    return f"{part(3)}-{part(4)}-{part(3)}"


def _conference_request(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any] | None:
    """conferenceData to store for a write, or None to leave it (conferenceDataVersion=0 ignores it)."""
    if ctx.request.args.get("conferenceDataVersion", "0") not in ("0", "1"):
        raise GoogleError(400, "invalid", "Invalid value for: conferenceDataVersion")
    if ctx.request.args.get("conferenceDataVersion") != "1" or not isinstance(
        body.get("conferenceData"), dict
    ):
        return None
    create = body["conferenceData"].get("createRequest")
    if not isinstance(create, dict):
        return None
    kind = (create.get("conferenceSolutionKey") or {}).get("type")
    if kind != "hangoutsMeet":
        raise GoogleError(400, "invalid", "Invalid conference type value.")
    if not create.get("requestId"):
        raise GoogleError(400, "required", "Required: conferenceData.createRequest.requestId")
    return {
        "createRequest": {
            "requestId": create["requestId"],
            "conferenceSolutionKey": {"type": kind},
            "status": {"statusCode": "pending"},
        }
    }


def _advance_conference(ctx: Ctx, ev: Event) -> bool:
    """A read of an event whose Meet is being created: still pending, or now done. True if changed."""
    if ev.conference_reads_left is None:
        return False
    if ev.conference_reads_left > 0:
        ev.conference_reads_left -= 1
        return False
    ev.conference_reads_left = None
    conf = ev.data.setdefault("conferenceData", {})
    create = conf.setdefault("createRequest", {})
    if ctx.app.config.conference_failure:
        create["status"] = {"statusCode": "failure"}
    else:
        code = _meet_code()
        create["status"] = {"statusCode": "success"}
        conf.update(
            entryPoints=[
                {
                    "entryPointType": "video",
                    "uri": f"https://meet.google.com/{code}",
                    "label": f"meet.google.com/{code}",
                }
            ],
            conferenceSolution={
                "key": {"type": "hangoutsMeet"},
                "name": "Google Meet",
                "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
            },
            conferenceId=code,
        )
        ev.data["hangoutLink"] = f"https://meet.google.com/{code}"
    _changed(ctx, ev)
    return True


# --- mail Google would send --------------------------------------------------------------------------


def _send_mode(ctx: Ctx) -> str:
    mode = ctx.request.args.get("sendUpdates", "none")
    if mode not in ("all", "externalOnly", "none"):
        raise GoogleError(400, "invalid", f"Invalid value for: sendUpdates: {mode}")
    return mode


def _send_updates(ctx: Ctx, data: dict[str, Any], kind: str) -> None:
    """Record the mail Google would send the attendees (sendUpdates; checked before any change)."""
    mode = _send_mode(ctx)
    organizer = str((data.get("organizer") or {}).get("email", "")).lower()
    domain = organizer.rsplit("@", 1)[-1]
    for attendee in data.get("attendees") or []:
        email = str(attendee.get("email", "")).lower()
        if mode == "none" or email == organizer or (mode == "externalOnly" and email.endswith("@" + domain)):
            continue
        ctx.app.state.mail.append(
            {"to": email, "kind": kind, "eventId": data["id"], "summary": data.get("summary")}
        )


# --- reading ---------------------------------------------------------------------------------------


def horizon(ctx: Ctx) -> datetime:
    return datetime.now(UTC) + timedelta(days=ctx.app.config.recurrence_horizon_days)


def _matches_filters(ctx: Ctx, data: dict[str, Any]) -> bool:
    private = (data.get("extendedProperties") or {}).get("private") or {}
    for wanted in ctx.request.args.getlist("privateExtendedProperty"):
        name, _, value = wanted.partition("=")
        if private.get(name) != value:
            return False
    shared = (data.get("extendedProperties") or {}).get("shared") or {}
    for wanted in ctx.request.args.getlist("sharedExtendedProperty"):
        name, _, value = wanted.partition("=")
        if shared.get(name) != value:
            return False
    ical = ctx.request.args.get("iCalUID")
    return ical is None or data.get("iCalUID") == ical


def _full_items(
    ctx: Ctx, access: Access, single: bool, show_deleted: bool, lo: datetime | None, hi: datetime | None
) -> list[dict[str, Any]]:
    cal = access.calendar
    out: list[dict[str, Any]] = []
    for ev in ctx.app.state.events_of(cal.id):
        if (ev.deleted and not show_deleted) or not _matches_filters(ctx, ev.data):
            continue
        if ev.data.get("recurrence"):
            found = em.instances(ev, cal.time_zone, lo, hi, horizon(ctx))
            if single:
                out += [i for i in found if show_deleted or i.get("status") != "cancelled"]
            elif next(found, None) is not None or (lo is None and hi is None):
                out.append(ev.data)
            continue
        start, end = em.span(ev.data, cal.time_zone)
        if (lo is None or end > lo) and (hi is None or start < hi):
            out.append(ev.data)
    return out


def _changed_items(ctx: Ctx, access: Access, since: int, single: bool) -> list[dict[str, Any]]:
    cal = access.calendar
    out: list[dict[str, Any]] = []
    for ev in ctx.app.state.events_of(cal.id):
        if ev.seq <= since:
            continue
        if ev.data.get("recurrence") and single:
            out += [
                em.cancelled_stub(i) if i.get("status") == "cancelled" else i
                for i in em.instances(ev, cal.time_zone, None, None, horizon(ctx))
            ]
        else:
            out.append(em.cancelled_stub(ev.data) if ev.deleted else ev.data)
    return out


def _sort_key(cal: Calendar) -> Any:
    def key(data: dict[str, Any]) -> tuple[float, str]:
        try:
            return em.span(data, cal.time_zone)[0].timestamp(), str(data.get("id"))
        except (GoogleError, KeyError):
            return 0.0, str(data.get("id"))

    return key


def _shown(ctx: Ctx, access: Access, user: User, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out_tz = ctx.request.args.get("timeZone") or access.calendar.time_zone
    em.zone(out_tz)
    shown = []
    for data in items:
        if data.get("status") == "cancelled" and set(data) <= {
            "kind",
            "etag",
            "id",
            "status",
            "recurringEventId",
            "originalStartTime",
        }:
            shown.append(data)
        elif access.freebusy_only and not em.blocks_time(data, access.calendar.owner_email):
            continue  # a free/busy viewer sees busy time only
        else:
            shown.append(em.view(data, user.email, freebusy_only=access.freebusy_only, out_tz=out_tz))
    return shown


@route(E, ["GET"], auth="bearer", scopes=READ_SCOPES)
def list_events(ctx: Ctx, calendar_id: str) -> Response:
    access = resolve(ctx, calendar_id)
    user = ctx.require_user()
    args = ctx.request.args
    state, cal = ctx.app.state, access.calendar
    header = {
        "kind": "calendar#events",
        "etag": f'"p3{state.current_seq():014d}"',
        "summary": cal.summary,
        "updated": rfc3339_now(),
        "timeZone": cal.time_zone,
        "accessRole": access.role,
        "defaultReminders": [],
    }
    if args.get("pageToken"):
        return json_response(next_page(ctx, header, cal.id, args["pageToken"]))
    try:
        max_results = min(
            int(args.get("maxResults", ctx.app.config.events_default_page_size)),
            ctx.app.config.events_max_page_size,
        )
    except ValueError:
        raise GoogleError(400, "invalid", "Invalid value for: maxResults") from None
    if max_results < 1:
        raise GoogleError(400, "invalid", "Invalid value for: maxResults")
    single, show_deleted = _bool(ctx, "singleEvents"), _bool(ctx, "showDeleted")
    order = args.get("orderBy")
    if order not in (None, "startTime", "updated"):
        raise GoogleError(400, "invalid", f"Invalid value for: orderBy: {order}")
    if order == "startTime" and not single:
        raise GoogleError(
            400, "badRequest", "The requested ordering is not available for the particular query."
        )
    with state.lock:
        for ev in state.events_of(cal.id):
            if _advance_conference(ctx, ev):
                notify(ctx.app, cal.id)
        if args.get("syncToken"):
            bad = [p for p in NOT_WITH_SYNC if p in args]
            if bad:
                raise GoogleError(400, "invalid", f"Sync token cannot be used with {', '.join(bad)}.")
            point = state.sync_points.get(args["syncToken"])
            if point is None or point.calendar_id != cal.id:
                raise GoogleError(400, "invalid", "Invalid sync token value.")
            if point.generation != cal.sync_generation:
                raise GoogleError(
                    410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
                )
            items = _changed_items(ctx, access, point.seq, single)
        else:
            lo = em.parse_rfc3339(args["timeMin"], "timeMin") if "timeMin" in args else None
            hi = em.parse_rfc3339(args["timeMax"], "timeMax") if "timeMax" in args else None
            if lo is not None and hi is not None and hi <= lo:
                raise GoogleError(400, "timeRangeEmpty", "The specified time range is empty.")
            items = _full_items(ctx, access, single, show_deleted, lo, hi)
        sync_token = new_token("C", 18)
        state.sync_points[sync_token] = SyncPoint(cal.id, state.current_seq(), cal.sync_generation, single)
        if order == "updated":
            items.sort(key=lambda d: str(d.get("updated", "")))
        else:
            items.sort(key=_sort_key(cal))
        shown = _shown(ctx, access, user, copy.deepcopy(items))
    return json_response(first_page(ctx, header, cal.id, shown, max_results, sync_token))


def _lookup(ctx: Ctx, cal: Calendar, event_id: str) -> tuple[Event, dict[str, Any] | None]:
    """The stored event, and for an instance id (`<series>_<start>`) the instance itself."""
    state = ctx.app.state
    ev = state.events.get((cal.id, event_id))
    if ev is not None:
        return ev, None
    master_id, _, _ = event_id.rpartition("_")
    master = state.events.get((cal.id, master_id)) if master_id else None
    if master is not None and master.data.get("recurrence"):
        for inst in em.instances(master, cal.time_zone, None, None, horizon(ctx)):
            if inst["id"] == event_id:
                return master, inst
    raise GoogleError(404, "notFound", "Not Found")


@route(E + "/<event_id>", ["GET"], auth="bearer", scopes=READ_SCOPES)
def get_event(ctx: Ctx, calendar_id: str, event_id: str) -> Response:
    access = resolve(ctx, calendar_id)
    user = ctx.require_user()
    with ctx.app.state.lock:
        ev, inst = _lookup(ctx, access.calendar, event_id)
        if _advance_conference(ctx, ev):
            notify(ctx.app, access.calendar.id)
        data = copy.deepcopy(inst if inst is not None else ev.data)
    out_tz = ctx.request.args.get("timeZone") or access.calendar.time_zone
    # A deleted event can still be read: Google shows it with status cancelled.
    return json_response(em.view(data, user.email, freebusy_only=access.freebusy_only, out_tz=out_tz))


# --- writing ----------------------------------------------------------------------------------------


def _organizer(cal: Calendar, owner: User | None) -> dict[str, Any]:
    out: dict[str, Any] = {"email": cal.owner_email}
    if owner is not None and owner.email.lower() == cal.owner_email.lower():
        out["displayName"] = owner.name
    return out


def _normalize_attendees(data: dict[str, Any], organizer_email: str) -> None:
    attendees = data.get("attendees")
    if attendees is None:
        return
    if not isinstance(attendees, list) or not all(isinstance(a, dict) and a.get("email") for a in attendees):
        raise GoogleError(400, "required", "Missing attendee email.")
    for a in attendees:
        if str(a["email"]).lower() == organizer_email.lower():
            a["organizer"] = True
            a.setdefault("responseStatus", "accepted")
        a.setdefault("responseStatus", "needsAction")


def create_event(ctx: Ctx, cal: Calendar, body: dict[str, Any], creator_email: str) -> Event:
    """Insert as Google does (the API route and the admin API both come here)."""
    state = ctx.app.state
    event_id = em.validate_id(body["id"]) if body.get("id") is not None else new_event_id()
    data = {k: copy.deepcopy(body[k]) for k in WRITABLE if body.get(k) is not None}
    _send_mode(ctx)
    em.validate_times(data, cal.time_zone)
    conference = _conference_request(ctx, body)
    with state.lock:
        if (cal.id, event_id) in state.events:
            # Also for a deleted event: an id is never reused.
            raise GoogleError(409, "duplicate", "The requested identifier already exists.")
        owner = state.user_by_email(cal.owner_email)
        organizer = _organizer(cal, owner)
        data.update(
            kind="calendar#event",
            id=event_id,
            status=data.get("status", "confirmed"),
            htmlLink=f"{ctx.base_url}/calendar/event?eid={event_id}",
            created=rfc3339_now(),
            creator={"email": creator_email},
            organizer=organizer,
            iCalUID=f"{event_id}@google.com",
            sequence=0,
            reminders=data.get("reminders", {"useDefault": True}),
            eventType=data.get("eventType", "default"),
        )
        _normalize_attendees(data, organizer["email"])
        ev = Event(cal.id, data, 0)
        if conference is not None:
            data["conferenceData"] = conference
            ev.conference_reads_left = ctx.app.config.conference_pending_reads
        _changed(ctx, ev)
        state.events[(cal.id, event_id)] = ev
        _send_updates(ctx, data, "invitation")
    notify(ctx.app, cal.id)
    return ev


def change_event(ctx: Ctx, cal: Calendar, ev: Event, body: dict[str, Any], *, replace: bool) -> None:
    state = ctx.app.state
    _send_mode(ctx)
    with state.lock:
        if ev.deleted:
            raise GoogleError(410, "deleted", "Resource has been deleted")
        wanted = ctx.request.headers.get("If-Match")
        if wanted is not None and wanted.removeprefix("W/") not in ("*", ev.data["etag"]):
            raise GoogleError(412, "conditionNotMet", "Precondition Failed", location=("header", "If-Match"))
        data = copy.deepcopy(ev.data)
        changes = {k: body[k] for k in WRITABLE if k in body}
        if replace:
            for k in WRITABLE:
                data.pop(k, None)
            changes = {k: v for k, v in changes.items() if v is not None}
        em.merge_patch(data, changes)
        em.validate_times(data, cal.time_zone)
        _normalize_attendees(data, str((data.get("organizer") or {}).get("email", "")))
        conference = _conference_request(ctx, body)
        if conference is not None:
            data["conferenceData"] = conference
            ev.conference_reads_left = ctx.app.config.conference_pending_reads
        if data.get("start") != ev.data.get("start") or data.get("end") != ev.data.get("end"):
            data["sequence"] = int(data.get("sequence", 0)) + 1
        if data.get("status") == "cancelled":
            ev.deleted = True
        ev.data = data
        _changed(ctx, ev)
        _send_updates(ctx, data, "update")
    notify(ctx.app, cal.id)


def remove_event(ctx: Ctx, cal: Calendar, ev: Event, inst: dict[str, Any] | None) -> None:
    state = ctx.app.state
    _send_mode(ctx)
    with state.lock:
        if ev.deleted or (inst is not None and inst.get("status") == "cancelled"):
            raise GoogleError(410, "deleted", "Resource has been deleted")
        if inst is not None:
            ev.cancelled_instances.add(inst["id"])
        else:
            ev.deleted = True
            ev.data["status"] = "cancelled"
        _changed(ctx, ev)
        _send_updates(ctx, ev.data, "cancellation")
    notify(ctx.app, cal.id)


def _writer(ctx: Ctx, calendar_id: str) -> tuple[Access, User]:
    return resolve(ctx, calendar_id, write=True), ctx.require_user()


@route(E, ["POST"], auth="bearer", scopes=WRITE_SCOPES)
def insert_event(ctx: Ctx, calendar_id: str) -> Response:
    access, user = _writer(ctx, calendar_id)
    ev = create_event(ctx, access.calendar, ctx.json_body(), user.email)
    with ctx.app.state.lock:
        data = copy.deepcopy(ev.data)
    return json_response(em.view(data, user.email, freebusy_only=False, out_tz=access.calendar.time_zone))


@route(E + "/<event_id>", ["PATCH", "PUT"], auth="bearer", scopes=WRITE_SCOPES)
def patch_event(ctx: Ctx, calendar_id: str, event_id: str) -> Response:
    access, user = _writer(ctx, calendar_id)
    with ctx.app.state.lock:
        ev, inst = _lookup(ctx, access.calendar, event_id)
    if inst is not None:
        raise GoogleError(400, "invalid", "The stand-in changes whole series only, not single instances.")
    change_event(ctx, access.calendar, ev, ctx.json_body(), replace=ctx.request.method == "PUT")
    with ctx.app.state.lock:
        data = copy.deepcopy(ev.data)
    return json_response(em.view(data, user.email, freebusy_only=False, out_tz=access.calendar.time_zone))


@route(E + "/<event_id>", ["DELETE"], auth="bearer", scopes=WRITE_SCOPES)
def delete_event(ctx: Ctx, calendar_id: str, event_id: str) -> Response:
    access, _ = _writer(ctx, calendar_id)
    with ctx.app.state.lock:
        ev, inst = _lookup(ctx, access.calendar, event_id)
    remove_event(ctx, access.calendar, ev, inst)
    return no_content()
