"""The site page and every edit a crew lead makes on it.

Each action is a plain form POST that redirects back to the site page (works without
JavaScript; the page's script sends the same form with fetch and gets ``{"next": url}``, so
a lost connection leaves the page and its selection as they are); the store records it in
the audit log, so "undo" takes it back. Each edit form carries the site's version the page
was drawn with: an action from a stale page (a second tab) is refused with a page that says
what changed (:class:`Stale`), never a bare "not found", and never wins over a newer edit.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, make_response, redirect, render_template, request, url_for

from ..store import StoreError, edits, now_iso, outbox
from ..store import photos as store_photos
from ..store import sites as store_sites
from ..store import spots as store_spots
from ..store import views
from ..store.sites import list_sites
from ..pages.i18n import format_iso, store_error_text, translate
from .auth import who
from .background import wake_sync, worker_checking, worker_error
from .db import get_store, record_id
from .labels import site_title, split_name, spot_label, tell_apart
from .sync import sync_state

bp = Blueprint("spots", __name__)


class Stale(Exception):
    """The page an action came from is older than what is stored (a second tab, a page left
    open): the action is refused as a whole and the lead gets :func:`_stale_page`."""

    def __init__(self, site_id: int, gone: int | None = None):
        super().__init__(site_id)
        self.site_id, self.gone = site_id, gone


@bp.before_request
def _note_last_edit():
    """Before an action: the newest edit so far, so :func:`_back` can say what this one did;
    and whether the page it came from is still true (:func:`_check_fresh`)."""
    if request.method == "POST":
        g.edits_before = edits.last_id(get_store())
        _check_fresh(get_store())


def _site_of_request(st) -> tuple[int | None, int | None]:
    """(the site the action is on, the spot it names that no longer exists or None)."""
    args = request.view_args or {}
    if "site_id" in args:
        return args["site_id"], None
    if "spot_id" in args:
        try:
            return store_spots.spot(st, args["spot_id"])["site_id"], None
        except StoreError:  # merged away, emptied: the page's own site (sent with the form)
            return request.form.get("site", type=record_id), args["spot_id"]
    if "sha" in args:
        row = store_photos.get(st, args["sha"])
        return (row["site_id"] if row else None), None
    return None, None


def _check_fresh(st) -> None:
    """An edit form carries the site's version the page was drawn with (``v``), the newest
    edit then (``e``) and the time (``t``). When the photos of the site have moved since by a
    person's edit or undo (another tab, another person), or a spot the action names is gone,
    the action would win over a change the lead has not seen: refuse it (:class:`Stale`).
    A form without ``v`` (a script, an old page) is not checked."""
    seen = request.form.get("v", type=record_id)
    if seen is None:
        return
    site_id, gone = _site_of_request(st)
    if site_id is None:
        return
    if gone is not None:
        raise Stale(site_id, gone)
    try:
        store_sites.site(st, site_id)
    except StoreError:
        raise Stale(site_id) from None
    # the places of the photos (the version's high part); a changed review flag alone is no conflict
    if views.site_version(st, site_id) // 4096 == seen // 4096:
        return
    # moved since: by a person (an edit or an undo since the page was drawn) the page is stale;
    # by the engine alone (a regroup after an edit, new photos placed) a person's action still
    # wins over it, as every edit does, and the page's poller offers the refresh
    if _person_edits_since(st, site_id) or request.form.get("e", type=record_id) is None:
        raise Stale(site_id)


def _person_edits_since(st, site_id: int) -> list[dict]:
    """The site's edits made (``e``: the newest edit id when the page was drawn) or undone
    (``t``: when it was drawn) since the page the form came from was drawn, oldest first."""
    since = request.form.get("e", type=record_id)
    drawn = request.form.get("t", "")
    if since is None:
        return []
    return [x for x in reversed(edits.history(st, site_id, limit=50))
            if x["id"] > since or (drawn and x["undone_at"] and x["undone_at"] > drawn)]


@bp.errorhandler(Stale)
def _stale_page(e: Stale):
    """"이 화면은 오래되었습니다 — 새로 고침": what changed since the page was drawn, that
    nothing was done, and a button to the site as it is now (409)."""
    st = get_store()
    lang = g.lang
    since = request.form.get("e", type=record_id)
    lines = []
    if e.gone is not None:
        lines.append(translate(lang, "stale_spot_gone", name=spot_label(lang, views.spot_brief(st, e.gone))))
    try:
        store_sites.site(st, e.site_id)
        alive = True
    except StoreError:
        alive = False
        lines.append(translate(lang, "stale_site_gone"))
    changed = _person_edits_since(st, e.site_id) if since is not None else edits.history(st, e.site_id, limit=3)[::-1]
    for x in changed[-10:]:
        what = _edit_text(lang, x)
        if x["undone_at"] and (since is None or x["id"] <= since):  # undone since (the edit itself is older)
            what = translate(lang, "undone", what=what)
        lines.append(translate(lang, "stale_edit", what=what[:1].upper() + what[1:], who=x["who"],
                               at=format_iso(lang, x["at"])[-5:]))
    if not changed and e.gone is None and alive:
        lines.append(translate(lang, "stale_engine"))
    back = url_for("spots.site", site_id=e.site_id) if alive else url_for("photos.home")
    return render_template("spots/stale.html", lines=lines, back=back), 409


@bp.after_request
def _answer_script(resp):
    """An action sent by the page's script (``X-Edge-Fetch``): the redirect becomes
    ``{"next": url}`` (a fetch cannot read a redirect's target), so the script loads the
    answer itself, and a lost connection stays on the page with its selection."""
    if request.method == "POST" and request.headers.get("X-Edge-Fetch") and resp.status_code in (301, 302, 303):
        return jsonify({"next": resp.headers["Location"]})
    return resp


def _say_done(site_id: int) -> None:
    """The line that answers an action in place ("사진 1장 옮김 · 되돌리기", shown in the
    action bar until the next action): the newest edit this request made on the site."""
    before = g.get("edits_before")
    if before is None:
        return
    last = edits.last_undoable(get_store(), site_id)
    if last is not None and last["id"] > before:
        flash(_edit_text(g.lang, last), "done")


def _back(site_id: int | None, anchor: str | None = None):
    if site_id is None:
        return redirect(url_for("photos.home"))
    _say_done(site_id)
    return redirect(url_for("spots.site", site_id=site_id) + (f"#{anchor}" if anchor else ""))


def _fail(e: ValueError) -> None:
    """A refused action, said on the page in the lead's language (a form's bad number too)."""
    flash(store_error_text(g.lang, e), "error")


def _spots_of_photos(st, shas) -> set[int]:
    """The spots the photos ``shas`` are in now (the tray left out)."""
    return {m["spot_id"] for m in (store_spots.current(st, s) for s in shas) if m and m["spot_id"] is not None}


def _open_for_edit(st, spot_ids) -> None:
    """A confirmed spot is a record (issue 17): an edit that touches one goes ahead only when
    the lead agreed to reopen it (the page asks, and sends ``reopen=1``); then each is
    reopened first, an audited edit of its own, in the caller's transaction. Without it:
    StoreError in the lead's words, and nothing changes."""
    ids = sorted({int(i) for i in spot_ids if i is not None})
    locked = [i for i in ids if store_spots.spot(st, i)["confirmed_at"]] if ids else []
    if not locked:
        return
    if request.form.get("reopen") != "1":
        names = ", ".join(spot_label(g.lang, views.spot_brief(st, i)) for i in locked)
        raise StoreError(translate(g.lang, "confirmed_locked", names=names))
    for i in locked:
        store_spots.unconfirm(st, i, who())


def _edit_text(lang: str, e: dict | None) -> str:
    if not e:
        return ""
    s = e["summary"]
    n = len(s.get("photos", [])) if isinstance(s.get("photos"), list) else s.get("photos", 0)
    to = translate(lang, s["phase"] if s.get("phase") else "phase_unknown") if e["action"] == "phase" else ""
    what = translate(lang, f"act_{e['action']}", n=n, to=to)
    if s.get("followed"):  # photos the engine moved along with the lead's (issue 20): the undo takes them back too
        what = translate(lang, "act_followed", what=what, n=s["followed"])
    return what


@bp.after_request
def _wake_sync(resp):
    if request.method == "POST":  # a confirm or an edit of a confirmed spot may be due for head office
        wake_sync()
    return resp


@bp.app_context_processor
def _ctx():
    lang = getattr(g, "lang", "ko")
    return {"site_title": lambda s: site_title(lang, s), "edit_text": lambda e: _edit_text(lang, e)}


@bp.route("/sites/<int:site_id>")
def site(site_id: int):
    st = get_store()
    try:
        return render_template("spots/site.html", **_site_context(st, site_id))
    except StoreError:
        abort(404)


def _site_context(st, site_id: int) -> dict:
    """What the site page (and a piece of it answered in place) is drawn from."""
    view = views.site_view(st, site_id)
    sites = tell_apart(list_sites(st))
    info = next((s for s in sites if s["id"] == site_id), {"id": site_id, "name": view["site"]["name"]})
    for sp in view["spots"]:
        sp["label"] = spot_label(g.lang, sp)
    names = {sp["id"]: sp["label"] for sp in view["spots"]}
    others = [s for s in sites if s["id"] != site_id]
    return dict(view=view, info=info, spot_names=names, removed=views.removed_photos(st, site_id),
                last_edit=edits.last_undoable(st, site_id), next_redo=edits.last_redoable(st, site_id),
                other_sites=others, waiting=views.waiting_count(st),
                site=site_id, version=views.site_version(st, site_id), page_edit=edits.last_id(st), drawn_at=now_iso(),
                worker_error=worker_error(),
                history=edits.history(st, site_id, limit=15),
                sync_badges=outbox.spot_states(st, site_id) if sync_state(st)["configured"] else {},
                checking=site_id in worker_checking())


def _in_place() -> bool:
    """The page's script asks for the changed piece of the page instead of a reload."""
    return bool(request.headers.get("X-Edge-Fetch") and request.headers.get("X-Edge-Swap"))


def _answer_in_place(st, site_id: int, sha: str, clean: bool):
    """The answer to a one-photo action sent by the page's script (issue 17): the card the
    photo is in (its spot, or the tray), the head's buttons (되돌리기 now names this edit) and
    the done-line, swapped into the page as they are, without a reload. The edit forms keep
    the version the page was drawn with; the newest edit and the time they carry move on to
    now only when nothing but this request changed the site since (``clean``), so a stale
    page is still refused as a whole."""
    _say_done(site_id)
    ctx = _site_context(st, site_id)
    ctx["version"] = request.form.get("v", type=record_id, default=ctx["version"])
    if not clean:
        ctx["page_edit"], ctx["drawn_at"] = request.form.get("e", type=record_id), request.form.get("t", "")
    m = store_spots.current(st, sha)
    card = next((sp for sp in ctx["view"]["spots"] if m and sp["id"] == m["spot_id"]), None)
    resp = make_response(render_template("spots/_answer.html", card=card, **ctx))
    resp.headers["X-Edge-Swap"] = "1"
    return resp


def _refuse_in_place(e: StoreError):
    """A refused one-photo action sent by the page's script: its reason, for the page's
    message line (the page stays as it is)."""
    resp = make_response(render_template("spots/_refused.html", message=store_error_text(g.lang, e)), 422)
    resp.headers["X-Edge-Swap"] = "1"
    return resp


def _site_of_spot(st, spot_id: int) -> int:
    try:
        return store_spots.spot(st, spot_id)["site_id"]
    except StoreError:
        abort(404)


@bp.route("/sites/<int:site_id>/selection", methods=["POST"])
def selection(site_id: int):
    """One action on the selected photos: move (to a spot, a new spot, the tray), phase, remove."""
    st = get_store()
    shas = request.form.getlist("photo")
    action = request.form.get("action", "")
    try:
        with st.write():  # a reopen and the edit it was for: both or neither
            return _selection(st, site_id, shas, action)
    except (StoreError, ValueError) as e:
        _fail(e)
    return _back(site_id)


def _selection(st, site_id: int, shas: list[str], action: str):
    if not shas:
        raise StoreError(translate(g.lang, "select_hint"))
    target = request.form.get("target", "") if action == "move" else ""
    if action.startswith("to-"):  # a tap on a spot's "여기로" while photos are selected: one tap per fix
        action, target = "move", action[3:]
    _open_for_edit(st, _spots_of_photos(st, shas) | ({record_id(target)} if target.isdigit() else set()))
    if action == "move":
        if target == "new":
            action = "new"
        elif target == "none":
            action = "none"
        elif not target.isdigit():
            raise StoreError(translate(g.lang, "choose_target"))
        else:
            store_spots.move(st, shas, record_id(target), who())
            return _back(site_id, f"spot-{target}")
    if action == "new":
        current = {store_spots.current(st, s)["spot_id"] if store_spots.current(st, s) else None for s in shas}
        if len(current) == 1 and None not in current:
            spot_id = current.pop()
            inside = store_spots.members(st, spot_id)
            if len(inside) > len(shas):
                res = store_spots.split(st, spot_id, shas, who())
                return _back(site_id, f"spot-{res['spot']}")
        res = store_spots.move(st, shas, store_spots.NEW, who())
        return _back(site_id, f"spot-{res['spot']}")
    if action == "none":
        store_spots.move(st, shas, None, who())
        return _back(site_id, "unassigned")
    if action.startswith("phase-"):
        ph = action[6:]
        store_spots.set_phase(st, shas, None if ph == "none" else ph, who())
    elif action == "remove":
        store_spots.remove_photos(st, shas, who())
    elif action == "each":
        res = store_spots.each_new(st, shas, who())
        return _back(site_id, f"spot-{res['spots'][0]}")
    else:
        abort(400)
    return _back(site_id)


@bp.route("/photos/<sha>/phase", methods=["POST"])
def phase(sha: str):
    """One tap on a photo's phase chip: the phase the chip names (``phase``: the next one, so
    a form sent twice sets it once), else before -> during -> after -> before. From the page's
    script it answers in place (:func:`_answer_in_place`)."""
    st = get_store()
    row = store_photos.get(st, sha)
    if row is None:
        abort(404)
    want = request.form.get("phase")
    if want is None:
        order = list(store_spots.PHASES)
        want = order[(order.index(row["phase"]) + 1) % 3] if row["phase"] in order else "before"
    clean = row["site_id"] is not None and not _person_edits_since(st, row["site_id"])
    try:
        with st.write():
            _open_for_edit(st, _spots_of_photos(st, [sha]))
            store_spots.set_phase(st, [sha], want or None, who())
    except StoreError as e:
        if _in_place() and request.form.get("back") != "photo":
            return _refuse_in_place(e)
        _fail(e)
    if request.form.get("back") == "photo":
        return redirect(url_for("photos.photo", sha=sha))
    if _in_place() and row["site_id"] is not None:
        return _answer_in_place(st, row["site_id"], sha, clean)
    m = store_spots.current(st, sha)
    return _back(row["site_id"], f"spot-{m['spot_id']}" if m and m["spot_id"] else None)


def _edit_spot(spot_id: int, edit, guard: bool = True) -> int:
    """``edit(st)`` on one spot for the page, in one transaction: when ``guard``, only if the
    spot is open or the lead agreed to reopen it (:func:`_open_for_edit`); a refusal is
    flashed. Returns the spot's site."""
    st = get_store()
    site_id = _site_of_spot(st, spot_id)
    try:
        with st.write():
            if guard:
                _open_for_edit(st, [spot_id])
            edit(st)
    except StoreError as e:
        _fail(e)
    return site_id


@bp.route("/spots/<int:spot_id>/rename", methods=["POST"])
def rename(spot_id: int):
    site_id = _edit_spot(spot_id, lambda st: store_spots.rename(st, spot_id, request.form.get("name"), who()))
    return _back(site_id, f"spot-{spot_id}")


@bp.route("/spots/<int:spot_id>/cover", methods=["POST"])
def cover(spot_id: int):
    photo = request.form.get("photo", "")
    site_id = _edit_spot(spot_id, lambda st: store_spots.set_cover(st, spot_id, photo, who()))
    if request.form.get("back") == "photo":
        return redirect(url_for("photos.photo", sha=photo))
    return _back(site_id, f"spot-{spot_id}")


@bp.route("/spots/<int:spot_id>/confirm", methods=["POST"])
def confirm(spot_id: int):
    """Confirm a spot. Named requests, each safe to repeat (issue 17): a second tap on 확인
    (a double tap, a resent form) confirms nothing more, and never takes it back."""
    site_id = _edit_spot(spot_id, lambda st: store_spots.confirm(st, spot_id, who()), guard=False)
    return _back(site_id, f"spot-{spot_id}")


@bp.route("/spots/<int:spot_id>/reopen", methods=["POST"])
def reopen(spot_id: int):
    """Take a confirmation back (an audited edit); a spot that is open stays as it is."""

    def edit(st):
        if store_spots.spot(st, spot_id)["confirmed_at"]:
            store_spots.unconfirm(st, spot_id, who())
            flash(translate(g.lang, "reopened", name=spot_label(g.lang, views.spot_brief(st, spot_id))), "ok")

    site_id = _edit_spot(spot_id, edit, guard=False)
    return _back(site_id, f"spot-{spot_id}")


@bp.route("/suggestions/<int:suggestion_id>/accept", methods=["POST"])
def suggestion_accept(suggestion_id: int):
    """Do what the engine suggested for one photo that was shown in a spot (issue 17): move it
    out to the suggested spot, a new spot or the tray, as the lead's own (undoable) move."""
    return _answer_suggestion(suggestion_id, accept=True)


@bp.route("/suggestions/<int:suggestion_id>/dismiss", methods=["POST"])
def suggestion_dismiss(suggestion_id: int):
    """Keep the photo where it is; the engine does not ask about it again."""
    return _answer_suggestion(suggestion_id, accept=False)


def _answer_suggestion(suggestion_id: int, accept: bool):
    st = get_store()
    site_id = store_spots.suggestion_site(st, suggestion_id)
    if site_id is None:
        abort(404)
    gone = False
    try:
        with st.write():  # a reopen and the move it was for: both or neither
            try:
                sug = store_spots.open_suggestion(st, suggestion_id)
            except StoreError:  # answered in another tab, or the photo moved since
                gone = True
                raise
            if accept:
                _open_for_edit(st, {sug["from_spot"], sug["to_spot"]} - {None})
                store_spots.accept_suggestion(st, suggestion_id, who())
            else:
                store_spots.dismiss_suggestion(st, suggestion_id, who())
    except StoreError as e:
        if gone:
            flash(translate(g.lang, "suggestion_gone"), "error")
        else:
            _fail(e)
    return _back(site_id)


@bp.route("/spots/<int:spot_id>/merge", methods=["POST"])
def merge(spot_id: int):
    st = get_store()
    site_id = _site_of_spot(st, spot_id)
    try:
        other = record_id(request.form.get("other", ""))
        with st.write():
            _open_for_edit(st, [other, spot_id])
            store_spots.merge(st, [other, spot_id], who())
        return _back(site_id, f"spot-{other}")
    except (StoreError, ValueError) as e:
        _fail(e)
    return _back(site_id, f"spot-{spot_id}")


@bp.route("/sites/<int:site_id>/confirm-all", methods=["POST"])
def confirm_all(site_id: int):
    try:
        store_spots.confirm_all(get_store(), site_id, who())
    except StoreError as e:
        _fail(e)
    return _back(site_id)


@bp.route("/sites/<int:site_id>/undo", methods=["POST"])
def undo(site_id: int):
    st = get_store()
    want = request.form.get("edit", type=record_id)  # the edit the page's button names
    if want is not None:
        last = edits.last_undoable(st, site_id)
        if last is None or last["id"] != want:  # another tab undid it, or made a newer edit
            raise Stale(site_id)
    res = edits.undo(st, who(), site_id=site_id, edit_id=want)
    g.edits_before = None  # the answer is the line below (with 다시 실행), not the undone edit's
    return _answer_undo_or_redo(st, site_id, res, "undo")


@bp.route("/sites/<int:site_id>/redo", methods=["POST"])
def redo(site_id: int):
    """'다시 실행': the edit the last 되돌리기 took back, made again (a new audited edit that
    되돌리기 takes back in turn). The form names it (``redo``); when it is no longer the one
    to redo (another tab, a newer edit) the page is stale."""
    st = get_store()
    want = request.form.get("redo", type=record_id)
    try:
        res = edits.redo(st, who(), site_id=site_id, edit_id=want)
    except StoreError:
        raise Stale(site_id) from None
    g.edits_before = None
    return _answer_undo_or_redo(st, site_id, res, "redo")


#: Per kind: (nothing-to-do key, done key and its flash category, conflicts key).
_UNDO_REDO = {"undo": ("nothing_to_undo", "undone", "undone", "undo_conflicts"),
              "redo": ("nothing_to_redo", "redone", "done", "redo_conflicts")}


def _answer_undo_or_redo(st, site_id: int, res: dict | None, kind: str):
    """The line that answers 되돌리기 / 다시 실행, and where the page goes: the site the edit
    merged into; for a site split, the site its spots are in now (the old one after an undo
    from the new one's page, the new one after a redo); the site list when the site is gone;
    else the site."""
    nothing, done, category, conflicts = _UNDO_REDO[kind]
    if res is None:
        flash(translate(g.lang, nothing), "info")
    else:
        flash(translate(g.lang, done, what=_edit_text(g.lang, res)), category)
        if res["conflicts"]:
            flash(translate(g.lang, conflicts, n=res["conflicts"]), "info")
        if res["action"] == "site_merge":
            return _back(res["summary"].get("into", site_id))
        if res["action"] == "site_split":
            return _back(res["summary"]["site"] if kind == "undo" else res["summary"]["new"])
    try:
        store_sites.site(st, site_id)
    except StoreError:
        return _back(None)
    return _back(site_id)


@bp.route("/sites/<int:site_id>/rename", methods=["POST"])
def site_rename(site_id: int):
    try:
        store_sites.rename(get_store(), site_id, request.form.get("name"), who())
    except StoreError as e:
        _fail(e)
    return _back(site_id)


@bp.route("/sites/<int:site_id>/merge", methods=["POST"])
def site_merge(site_id: int):
    try:
        other = record_id(request.form.get("other", ""))
        store_sites.merge(get_store(), [site_id, other], who())
    except (StoreError, ValueError) as e:
        _fail(e)
    return _back(site_id)


@bp.route("/sites/<int:site_id>/split", methods=["POST"])
def site_split(site_id: int):
    st = get_store()
    try:
        # a named site's split is named after it with a number (an unnamed one's is titled by its own dates)
        name = split_name(store_sites.site(st, site_id)["name"], {s["name"] for s in list_sites(st) if s["name"]})
        res = store_sites.split(st, site_id, [record_id(s) for s in request.form.getlist("spot")],
                                request.form.getlist("photo"), who(), name=name)
        return _back(res["site"])
    except (StoreError, ValueError) as e:
        _fail(e)
    return _back(site_id)


@bp.route("/sites/<int:site_id>/restore", methods=["POST"])
def restore(site_id: int):
    try:
        store_spots.restore_photos(get_store(), request.form.getlist("photo"), who())
    except StoreError as e:
        _fail(e)
    return _back(site_id)


@bp.route("/spots/<int:spot_id>/compare")
def compare(spot_id: int):
    """Before and after of one spot, side by side or as a slider."""
    st = get_store()
    site_id = _site_of_spot(st, spot_id)
    view = views.site_view(st, site_id)
    spot = next((s for s in view["spots"] if s["id"] == spot_id), None)
    if spot is None:
        abort(404)
    photos = spot["photos"]
    spot["label"] = spot_label(g.lang, spot)
    by_phase = {ph: [p for p in photos if p["phase"] == ph] for ph in store_spots.PHASES}
    a = request.args.get("a") or (by_phase["before"][0]["sha256"] if by_phase["before"] else photos[0]["sha256"])
    b = request.args.get("b") or (by_phase["after"][-1]["sha256"] if by_phase["after"] else photos[-1]["sha256"])
    shas = {p["sha256"] for p in photos}
    if a not in shas or b not in shas:
        abort(404)
    pa = next(p for p in photos if p["sha256"] == a)
    pb = next(p for p in photos if p["sha256"] == b)
    return render_template("spots/compare.html", spot=spot, site_id=site_id, a=pa, b=pb, photos=photos,
                           mode=request.args.get("mode", "side"))
