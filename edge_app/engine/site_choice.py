"""Which site each new photo of the site app goes to: the rule, on facts the store read.

    facts = SiteFacts(new=[NewPhoto(sha, PhotoMeta(taken_at, gps), batch)], known=KnownPhotos.of(...),
                      recent=[(sha, site)], batch_sites={batch: {site}}, next_site=max_site_id + 1)
    choice = pipeline.choose_sites(facts, analysis)   # SiteChoice: a site per new photo
    # the store then opens choice.new_sites and writes the photos' sites in one transaction

A site is chosen by metadata first (:func:`~edge_app.engine.sessions.link_to_known`: GPS
within the site radius, else capture time within the session gap). A run of photos far in
time from everything joins the site of the recent photos verification shows to be of the
same spot, else the site the rest of its upload went to, else one new site for the upload
(time only ever joins). A photo without any metadata joins the site of the photo it looks
most like among the sites its upload links to (by verified look, time or GPS); an upload
linked to none is a new site named by its date, never a silent tail of the most recent
site (issue 17).

Sites to open are numbered from ``facts.next_site`` (above every site id) in the order
they are opened; the store gives them their real ids when it writes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Hashable, Sequence

from .analyze import PhotoAnalysis
from .metadata import PhotoMeta
from .sessions import KnownPhotos, NewPhotoLinks

#: The analysis of a photo by its sha256 (None when it can no longer be analysed).
AnalysisOf = Callable[[str], "PhotoAnalysis | None"]


@dataclass(frozen=True)
class NewPhoto:
    """A photo without a site yet: its sha256, capture time / GPS, and upload batch."""

    sha256: str
    meta: PhotoMeta
    batch: int | None


@dataclass
class SiteFacts:
    """What the site of new photos is chosen by, as the store read it in one go.

    new:         the photos without a site, in the store's order.
    known:       every photo in a site (GPS, capture time; labels = their sites, merges followed).
    recent:      (sha256, site) of the photos added last that are in a site, newest first
                 (what a photo far from everything in time is compared with by look).
    batch_sites: {batch: the sites its photos already have}.
    next_site:   a number above every site id (the first site this choice may open).
    placed:      {site: photos} of the asked photos that had a site already (passed through).
    """

    new: list[NewPhoto]
    known: KnownPhotos
    recent: list[tuple[str, int]]
    batch_sites: dict[int, set[int]]
    next_site: int
    placed: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class SiteChoice:
    """site_of[i]: the site of ``facts.new[i]``, an existing site id or a site to open
    (``facts.next_site + k`` for ``new_sites[k]``). new_sites[k]: the batch whose date names
    the k-th site to open, or None for the default name; ``dated[k]`` says whether it is
    named by that date (an upload without any metadata or link)."""

    site_of: list[int]
    new_sites: list[int | None]
    dated: list[bool]


def most_voted(votes: dict[int, int]) -> int:
    """The site with the most votes; ties go to the oldest site (the lowest id)."""
    return max(votes, key=lambda k: (votes[k], -k))


def choose_sites(facts: SiteFacts, analysis: AnalysisOf, *,
                 link: Callable[[Sequence[PhotoMeta], KnownPhotos], NewPhotoLinks],
                 same_spot: Callable[[PhotoAnalysis, Sequence[PhotoAnalysis]], list[int]],
                 place_by_look: Callable[[PhotoAnalysis, Sequence[PhotoAnalysis], Sequence[Hashable]], Hashable],
                 ) -> SiteChoice:
    """A site for each of ``facts.new`` (see the module's rule). ``link``: new photos to
    known ones by metadata; ``same_spot``: indices of known photos verification shows to be
    of the new photo's spot; ``place_by_look``: the label of the known photo a new one looks
    most like (the :class:`~edge_app.engine.pipeline.Pipeline`'s methods of those names).
    Only the recent photos' analyses are asked for, and only when a photo is placed by look."""
    new = facts.new
    choice = SiteChoice([], [], [])
    decided: dict[int, int] = {}  # new photo index -> site
    recent_cache: list[list[tuple[PhotoAnalysis, int]]] = []

    def recent() -> list[tuple[PhotoAnalysis, int]]:
        if not recent_cache:
            found = [(analysis(sha), site) for sha, site in facts.recent]
            recent_cache.append([(a, site) for a, site in found if a is not None])
        return recent_cache[0]

    def by_look(idx: Sequence[int]) -> dict[int, int]:
        """{site: votes}: for each photo, the site of every recent photo among its nearest by
        look that verification shows to be of the same spot. Empty: a new place."""
        votes: dict[int, int] = defaultdict(int)
        cand = recent()
        if not cand:
            return votes
        known = [a for a, _ in cand]
        for i in idx:
            a = analysis(new[i].sha256)
            if a is None:
                continue
            for k in same_spot(a, known):
                votes[cand[k][1]] += 1
        return votes

    def open_site(batch: int | None = None, dated: bool = False) -> int:
        choice.new_sites.append(batch)
        choice.dated.append(dated)
        return facts.next_site + len(choice.new_sites) - 1

    links = link([p.meta for p in new], facts.known)
    look = {n: by_look(members) for n, (members, votes) in enumerate(links.runs) if not votes}
    verified = by_look(links.no_metadata) if links.no_metadata else {}
    earlier = facts.batch_sites
    for members, votes in links.sessions:
        site = most_voted(votes) if votes else open_site()
        for i in members:
            decided[i] = site
    fresh: dict[int, int] = {}  # batch -> the new site of its runs that link to nothing
    for n, (members, votes) in enumerate(links.runs):
        votes = look.get(n, votes)
        if votes:
            site = most_voted(votes)
        else:  # one upload is one new site, not a site per run of capture times (issue 17)
            b = new[members[0]].batch
            same = [decided[i] for i in sorted(decided) if b is not None and new[i].batch == b]
            site = fresh.get(b) or (same[0] if same else None) or (min(earlier[b]) if earlier.get(b) else None)
            if site is None:
                site = open_site()
                if b is not None:
                    fresh[b] = site
        for i in members:
            decided[i] = site
    if links.no_metadata:
        _place_by_look(new, links.no_metadata, decided, verified, earlier, recent(), analysis, place_by_look,
                       open_site)
    choice.site_of = [decided[i] for i in range(len(new))]
    return choice


def _place_by_look(new: list[NewPhoto], unplaced: list[int], decided: dict[int, int], verified: dict[int, int],
                   earlier: dict[int, set[int]], recent: list[tuple[PhotoAnalysis, int]], analysis: AnalysisOf,
                   place_by_look, open_site) -> None:
    """Photos without any metadata, an upload batch at a time: a batch that shares a link
    with a site (a photo verification shows to be of one of its spots: ``verified``; photos
    of the same batch given a site by time or GPS, now or in an earlier step) joins, photo
    by photo, the site of the photo it looks most like among those sites only, each placed
    photo a candidate for the next. A batch that shares nothing with any site is a new site
    named by its date."""
    cand = list(recent) + [(analysis(new[i].sha256), site) for i, site in decided.items()]
    by_batch: dict[int | None, list[int]] = defaultdict(list)
    for i in unplaced:
        by_batch[new[i].batch].append(i)
    for batch, idx in by_batch.items():
        allowed = set(verified) | earlier.get(batch, set()) | {
            site for i, site in decided.items() if batch is not None and new[i].batch == batch}
        if not allowed:
            site = open_site(batch, dated=True)
            for i in idx:
                decided[i] = site
            cand += [(analysis(new[i].sha256), site) for i in idx]
            continue
        known = [a for a, site in cand if a is not None and site in allowed]
        sites = [site for a, site in cand if a is not None and site in allowed]
        fallback = max(allowed, key=lambda s: (verified.get(s, 0), -s))
        for i in idx:
            a = analysis(new[i].sha256)
            decided[i] = place_by_look(a, known, sites) if known and a is not None else fallback
            if a is not None:
                known.append(a)
                sites.append(decided[i])
                cand.append((a, decided[i]))
