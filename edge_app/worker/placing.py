"""Where new photos go, before their batch is regrouped: a site (:func:`choose_sites`), then,
photo by photo, a spot of it (:func:`place_online`), so the page fills up while an upload is
still running.

A site is chosen by metadata first (:meth:`~edge_app.engine.pipeline.Pipeline.link_to_known`:
GPS within the site radius, else capture time within the session gap), else by look: a run of
photos far in time from everything joins the site of photos verification shows to be of the
same spot (:func:`sites_by_look`), else a new site; a photo without any metadata joins the
site of the photo it looks most like (:meth:`~edge_app.engine.pipeline.Pipeline.place_by_look`)
among the sites its batch links to by verified look, time or GPS; a batch linked to none is
a new site named by its date.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from .. import app_settings
from ..engine.analyze import PhotoAnalysis
from ..engine.metadata import PhotoMeta
from ..engine.pipeline import Pipeline
from ..engine.sessions import KnownPhotos
from ..store import Store
from ..store import photos as store_photos
from ..store.sites import batch_sites, batches_of, create_site, dated_name, resolve
from ..store.spots import confirmed_at, create_spot, place, set_engine_phases
from .snapshot import RegroupStale, check_unchanged, read_site

#: The analysis of a photo by its sha256 (None when it can no longer be analysed).
AnalysisOf = Callable[[str], "PhotoAnalysis | None"]


def _meta(r) -> PhotoMeta:
    gps = (r["lat"], r["lon"], None) if r["lat"] is not None and r["lon"] is not None else None
    return PhotoMeta(r["taken_at"], gps)


def _most_voted(votes: dict[int, int]) -> int:
    """The site with the most votes; ties go to the oldest site."""
    return max(votes, key=lambda k: (votes[k], -k))


def choose_sites(st: Store, pipeline: Pipeline, analysis: AnalysisOf, shas: list[str]) -> dict[int, list[str]]:
    """Give each newly analysed photo a site: the site of existing photos its session
    links to by GPS (within the site radius) or capture time (within the session gap),
    else a new site. Time only ever joins: a photo without GPS taken far in time from
    every other photo (an "after" shot two weeks on) joins the site of a photo it
    verifiably shows the same spot as (:func:`sites_by_look`), else the site the rest of its
    upload batch went to, else one new site for the batch; a photo
    without any metadata joins the site of the photo it looks most like among the sites
    its batch links to, else its batch is a new site (:func:`_place_by_look`). Returns
    {site: photos}, those that had a site already included."""
    new_rows = [r for r in store_photos.site_facts(st, shas) if r["site_id"] is None]
    out: dict[int, list[str]] = defaultdict(list)
    for r in store_photos.with_site(st, shas):
        out[resolve(st, r["site_id"])].append(r["sha256"])
    if not new_rows:
        return out
    old = store_photos.in_sites(st)
    links = pipeline.link_to_known([_meta(r) for r in new_rows], KnownPhotos.of(
        [r["lat"] for r in old], [r["lon"] for r in old], [r["taken_at"] for r in old],
        [resolve(st, r["site_id"]) for r in old]))
    # runs far in time from everything: sites by verified look (outside the write)
    look = {n: sites_by_look(st, pipeline, analysis, [new_rows[i]["sha256"] for i in members])
            for n, (members, votes) in enumerate(links.runs) if not votes}
    verified = sites_by_look(st, pipeline, analysis, [new_rows[i]["sha256"] for i in links.no_metadata]) \
        if links.no_metadata else {}
    decided: dict[int, int] = {}  # new row index -> site
    batch_of = batches_of(st, [r["sha256"] for r in new_rows])
    earlier = batch_sites(st, list(batch_of.values()))
    with st.write():
        for members, votes in links.sessions:
            site_id = _most_voted(votes) if votes else create_site(st, "engine")
            for i in members:
                decided[i] = site_id
        fresh: dict[int, int] = {}  # batch -> the new site of its runs that link to nothing
        for n, (members, votes) in enumerate(links.runs):
            votes = look.get(n, votes)
            if votes:
                site_id = _most_voted(votes)
            else:  # one upload is one new site, not a site per run of capture times (issue 17)
                b = batch_of.get(new_rows[members[0]]["sha256"])
                same = [decided[i] for i in sorted(decided) if b is not None and
                        batch_of.get(new_rows[i]["sha256"]) == b]
                site_id = fresh.get(b) or (same[0] if same else None) or \
                    (min(earlier[b]) if earlier.get(b) else None)
                if site_id is None:
                    site_id = create_site(st, "engine")
                    if b is not None:
                        fresh[b] = site_id
            for i in members:
                decided[i] = site_id
        if links.no_metadata:
            _place_by_look(st, pipeline, analysis, new_rows, links.no_metadata, decided, verified)
        for i, r in enumerate(new_rows):
            store_photos.set_site_by_engine(st, r["sha256"], decided[i])
            out[decided[i]].append(r["sha256"])
    return out


def recent_photos(st: Store, analysis: AnalysisOf) -> list[tuple[PhotoAnalysis, int]]:
    """(analysis, site) of the ``worker.place_by_look_recent`` photos added last that have a
    site (photos that can no longer be analysed left out)."""
    recent = store_photos.recent_in_sites(st, app_settings.value("worker.place_by_look_recent"))
    cand = [(analysis(r["sha256"]), resolve(st, r["site_id"])) for r in recent]
    return [(a, site) for a, site in cand if a is not None]


def sites_by_look(st: Store, pipeline: Pipeline, analysis: AnalysisOf, shas: list[str]) -> dict[int, int]:
    """{site: votes}: for each photo, the site of every recent photo among its ``knn``
    nearest by look that verification shows to be the same spot (p >= the assignment
    threshold). Empty when none is: the photos are of a new place."""
    cand = recent_photos(st, analysis)
    votes: dict[int, int] = defaultdict(int)
    if not cand:
        return votes
    known = [a for a, _ in cand]
    for sha in shas:
        a = analysis(sha)
        if a is None:
            continue
        for k in pipeline.same_spot_by_look(a, known):
            votes[cand[k][1]] += 1
    return votes


def _place_by_look(st: Store, pipeline: Pipeline, analysis: AnalysisOf, new_rows, unplaced: list[int],
                   decided: dict[int, int], verified: dict[int, int]) -> None:
    """Photos without any metadata, an upload batch at a time: a batch that shares a link
    with a site (a photo verification shows to be of one of its spots: ``verified``, from
    :func:`sites_by_look`; photos of the same batch given a site by time or GPS, in this step
    or an earlier one) keeps the old rule among those sites only: each photo joins the site
    of the photo it looks most like, one after the other, each a candidate for the next. A
    batch that shares nothing with any site becomes a new site named by its date
    (:func:`~edge_app.store.sites.dated_name`), never a silent tail of the most recent site
    (issue 17). Inside the caller's transaction."""
    batch_of = batches_of(st, [new_rows[i]["sha256"] for i in unplaced])
    earlier = batch_sites(st, list(batch_of.values()))
    cand = recent_photos(st, analysis) + [(analysis(new_rows[i]["sha256"]), site) for i, site in decided.items()]
    by_batch: dict[int | None, list[int]] = defaultdict(list)
    for i in unplaced:
        by_batch[batch_of.get(new_rows[i]["sha256"])].append(i)
    for batch, idx in by_batch.items():
        allowed = set(verified) | earlier.get(batch, set()) | {
            site for i, site in decided.items() if batch is not None and batch_of.get(new_rows[i]["sha256"]) == batch}
        if not allowed:
            site_id = create_site(st, "engine", dated_name(st, batch))
            for i in idx:
                decided[i] = site_id
            cand += [(analysis(new_rows[i]["sha256"]), site_id) for i in idx]
            continue
        known = [a for a, site in cand if a is not None and site in allowed]
        sites = [site for a, site in cand if a is not None and site in allowed]
        fallback = max(allowed, key=lambda s: (verified.get(s, 0), -s))
        for i in idx:
            a = analysis(new_rows[i]["sha256"])
            decided[i] = pipeline.place_by_look(a, known, sites) if known and a is not None else fallback
            if a is not None:
                known.append(a)
                sites.append(decided[i])
                cand.append((a, decided[i]))


def place_online(st: Store, pipeline: Pipeline, analysis: AnalysisOf, site_id: int, sha: str) -> None:
    """Place one new photo of a site with the engine's online assignment (fast, before
    regrouping): into the spot it joins (the tray with a suggestion when that spot is
    confirmed), or a new spot with the lone photo it matches, or the tray. When a person
    changes the site meanwhile it judges again (three tries, then the tray: the batch's
    regroup places it)."""
    a = analysis(sha)
    for _ in range(3):
        seen = read_site(st, site_id, exclude=sha)
        found = [(r, analysis(r["sha256"])) for r in seen]
        rows = [r for r, b in found if b is not None]
        analyses = [b for r, b in found if b is not None]
        labels = [r["spot_id"] for r in rows]
        res = pipeline.assign(a, analyses, labels)
        try:
            _write_place(st, site_id, sha, a, res, rows, seen)
            break
        except RegroupStale:  # a person changed the site meanwhile: judge again from the new state
            continue
    else:
        with st.write():
            place(st, sha, None, "engine")  # the tray; the batch's regroup places it
    pipeline.flush_pair_cache()


def _write_place(st: Store, site_id: int, sha: str, a, res, rows, seen) -> None:
    """Write what :func:`place_online` decided, unless the site changed since ``seen``."""
    with st.write():
        check_unchanged(st, site_id, seen, exclude=sha)
        if a is None:
            place(st, sha, None, "engine")
            return
        if res.group is not None:
            if confirmed_at(st, res.group):
                place(st, sha, None, "engine", score=res.score, suggest=res.group)
            else:
                place(st, sha, res.group, "engine", score=res.score)
                set_engine_phases(st, res.group)
        elif res.partner is not None and rows[res.partner]["by"] == "engine":
            spot_id = create_spot(st, site_id, "engine")
            place(st, rows[res.partner]["sha256"], spot_id, "engine", score=res.score)
            place(st, sha, spot_id, "engine", score=res.score)
            set_engine_phases(st, spot_id)
        else:
            place(st, sha, None, "engine", score=res.score)
