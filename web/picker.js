// The slot picker shared by the booking page and the manage page: free slots of a link in the
// viewer's time zone (switchable), a week or a day at a time, each slot a real <button>.

import {
  addDays,
  api,
  browserTimeZone,
  dateLabel,
  el,
  showProblem,
  status,
  timeLabel,
  timeZones,
  todayIn,
} from "./common.js";

export class SlotPicker {
  /**
   * @param {HTMLElement} root  an element to render into
   * @param {string} slug       the booking link
   * @param {(slot: object, zone: string) => void} onPick
   */
  constructor(root, slug, onPick, { zone } = {}) {
    this.root = root;
    this.slug = slug;
    this.onPick = onPick;
    this.zone = zone || browserTimeZone();
    this.view = window.matchMedia && window.matchMedia("(max-width: 40rem)").matches ? "day" : "week";
    this.cursor = todayIn(this.zone);
    this.excluded = new Set();
    this.requestSeq = 0;
    this.render();
  }

  render() {
    const zoneSelect = el(
      "select",
      { id: "tz", name: "timezone", onchange: (e) => this.setZone(e.target.value) },
      timeZones(this.zone).map((z) => el("option", { value: z, selected: z === this.zone }, z.replaceAll("_", " "))),
    );
    const viewRadio = (value, label) =>
      el(
        "label",
        { class: "segment" },
        el("input", {
          type: "radio",
          name: "view",
          value,
          checked: this.view === value,
          onchange: () => this.setView(value),
        }),
        el("span", {}, label),
      );
    this.rangeHeading = el("h3", { id: "range", class: "range" });
    this.days = el("div", { id: "days", class: "days" });
    this.prev = el("button", { type: "button", id: "prev", onclick: () => this.move(-1) }, "Previous");
    this.next = el("button", { type: "button", id: "next", onclick: () => this.move(1) }, "Next");
    this.root.replaceChildren(
      el(
        "div",
        { class: "toolbar" },
        el("div", { class: "field" }, el("label", { for: "tz" }, "Time zone"), zoneSelect),
        el(
          "fieldset",
          { class: "segmented" },
          el("legend", {}, "Show"),
          el("div", { class: "segments" }, viewRadio("week", "Week"), viewRadio("day", "Day")),
        ),
      ),
      el("div", { class: "nav" }, this.prev, this.rangeHeading, this.next),
      this.days,
    );
  }

  span() {
    return this.view === "week" ? 7 : 1;
  }

  setZone(zone) {
    this.zone = zone;
    this.cursor = todayIn(zone) > this.cursor ? todayIn(zone) : this.cursor;
    this.load();
  }

  setView(view) {
    this.view = view;
    this.load();
  }

  move(direction) {
    const next = addDays(this.cursor, direction * this.span());
    const today = todayIn(this.zone);
    this.cursor = next < today ? today : next;
    this.load();
  }

  /** Leave a slot out (the slot the booking already has, on the manage page). */
  exclude(startUtc) {
    this.excluded.add(startUtc);
  }

  async load({ quiet = false, first = false } = {}) {
    const start = this.cursor;
    const end = addDays(start, this.span() - 1);
    const seq = ++this.requestSeq;
    this.prev.disabled = start <= todayIn(this.zone);
    this.rangeHeading.textContent =
      start === end
        ? dateLabel(start, { weekday: "long", day: "numeric", month: "long", year: "numeric" })
        : `${dateLabel(start, { day: "numeric", month: "short" })} – ${dateLabel(end, { day: "numeric", month: "short", year: "numeric" })}`;
    this.days.setAttribute("aria-busy", "true");
    if (!quiet) status("Loading free times…");
    const params = new URLSearchParams({ start, end, timezone: this.zone });
    const answer = await api(`links/${encodeURIComponent(this.slug)}/availability?${params}`);
    if (seq !== this.requestSeq) return; // a newer request won
    if (answer.ok && first && !answer.data.slots.some((s) => !this.excluded.has(s.startUtc))) {
      // Nothing free in the first days shown: jump to the first free day in the next four weeks.
      const ahead = new URLSearchParams({ start, end: addDays(start, 27), timezone: this.zone });
      const later = await api(`links/${encodeURIComponent(this.slug)}/availability?${ahead}`);
      if (seq !== this.requestSeq) return;
      const found = later.ok && later.data.slots.find((s) => !this.excluded.has(s.startUtc));
      if (found && found.start.slice(0, 10) > start) {
        this.cursor = found.start.slice(0, 10);
        return this.load({ quiet });
      }
    }
    this.days.removeAttribute("aria-busy");
    if (!answer.ok) {
      this.days.replaceChildren();
      status("");
      showProblem(answer.problem);
      return;
    }
    this.show(answer.data, start, end, quiet);
  }

  show(data, start, end, quiet) {
    const byDay = new Map();
    for (let d = start; d <= end; d = addDays(d, 1)) byDay.set(d, []);
    for (const slot of data.slots) {
      if (this.excluded.has(slot.startUtc)) continue;
      const day = slot.start.slice(0, 10);
      if (byDay.has(day)) byDay.get(day).push(slot);
    }
    let count = 0;
    const columns = [];
    for (const [day, slots] of byDay) {
      count += slots.length;
      const headingId = `day-${day}`;
      const list = slots.length
        ? el(
            "ul",
            { class: "slots", "aria-labelledby": headingId },
            slots.map((slot) => {
              const time = timeLabel(slot.startUtc, this.zone);
              return el(
                "li",
                {},
                el(
                  "button",
                  {
                    type: "button",
                    class: "slot",
                    "data-start": slot.startUtc,
                    "aria-label": `${dateLabel(day)} at ${time}`,
                    onclick: () => this.onPick(slot, this.zone),
                  },
                  time,
                ),
              );
            }),
          )
        : el("p", { class: "muted" }, "No free times");
      const heading = this.view === "week" ? dateLabel(day, { weekday: "short", day: "numeric", month: "short" }) : dateLabel(day);
      columns.push(el("section", { class: "day" }, el("h4", { id: headingId }, heading), list));
    }
    const notes = [];
    if (data.complete === false) {
      // A calendar too busy to read over these days may answer for fewer: say so, not "try again".
      const reasons = new Set((data.degradedHosts || []).map((host) => host.reason));
      if (reasons.has("too_much_busy_time")) {
        notes.push(
          el(
            "p",
            { class: "notice" },
            this.view === "week"
              ? "Some calendars have too many events to check for a whole week, so fewer times are shown. The Day view may show more."
              : "Some calendars have too many events to check for this day, so fewer times are shown.",
          ),
        );
      }
      if (!reasons.has("too_much_busy_time") || reasons.has("unavailable")) {
        notes.push(
          el(
            "p",
            { class: "notice" },
            "Some calendars could not be checked just now, so fewer times are shown. Try again in a few minutes for more.",
          ),
        );
      }
    }
    this.days.replaceChildren(...notes, el("div", { class: `grid view-${this.view}` }, columns));
    if (!quiet) {
      status(
        count
          ? `${count} free ${count === 1 ? "time" : "times"} shown in ${this.zone}.`
          : `No free times in these days. Try ${this.view === "week" ? "the next week" : "the next day"}.`,
      );
    }
  }
}

