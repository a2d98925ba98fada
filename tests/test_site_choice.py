"""The engine's rule for which site new photos go to (edge_app/engine/site_choice.py), on
facts as the store reads them: pure, so the links by metadata, verification and look are
given here as plain functions (the site app passes the Pipeline's)."""

from __future__ import annotations

import numpy as np

from edge_app.engine.metadata import PhotoMeta
from edge_app.engine.sessions import KnownPhotos, NewPhotoLinks
from edge_app.engine.site_choice import NewPhoto, SiteFacts, choose_sites, most_voted


class Look:
    """A stand-in analysis: only its sha256 matters to the rule."""

    def __init__(self, sha):
        self.key = sha
        self.embedding = np.zeros(4, np.float32)


def facts(new, recent=(), batch_sites=None, next_site=10):
    return SiteFacts([NewPhoto(sha, PhotoMeta(None, None), batch) for sha, batch in new],
                     KnownPhotos.of([], [], [], []), list(recent), batch_sites or {}, next_site)


def choose(f, links, same=lambda a, known: [], look=None):
    calls = []

    def place_by_look(a, known, labels):
        calls.append((a.key, list(labels)))
        return look(a, known, labels) if look else labels[0]

    return choose_sites(f, Look, link=lambda metas, known: links, same_spot=same, place_by_look=place_by_look), calls


def test_a_session_goes_to_the_site_it_links_to_most_ties_to_the_oldest():
    assert most_voted({5: 2, 3: 2, 7: 1}) == 3
    f = facts([("a", 1), ("b", 1), ("c", 1)])
    links = NewPhotoLinks(sessions=[([0, 1], {4: 1, 2: 3}), ([2], {})], runs=[], no_metadata=[])
    choice, _ = choose(f, links)
    assert choice.site_of == [2, 2, 10]  # the second session links to nothing: site 10 is opened
    assert choice.new_sites == [None] and choice.dated == [False]


def test_one_upload_is_one_new_site_not_a_site_per_run_of_capture_times():
    f = facts([("a", 1), ("b", 1), ("c", 2)])
    links = NewPhotoLinks(sessions=[], runs=[([0], {}), ([1], {}), ([2], {})], no_metadata=[])
    choice, _ = choose(f, links)
    assert choice.site_of == [10, 10, 11] and choice.new_sites == [None, None]


def test_a_run_far_in_time_joins_the_site_verification_shows_it_is_of():
    f = facts([("a", 1)], recent=[("old1", 3), ("old2", 4)])
    links = NewPhotoLinks(sessions=[], runs=[([0], {})], no_metadata=[])
    choice, _ = choose(f, links, same=lambda a, known: [1])  # verified: the same spot as old2
    assert choice.site_of == [4] and choice.new_sites == []


def test_an_upload_without_metadata_or_links_is_a_new_site_named_by_its_date():
    f = facts([("a", 7), ("b", 7)], recent=[("old", 3)])
    links = NewPhotoLinks(sessions=[], runs=[], no_metadata=[0, 1])
    choice, calls = choose(f, links)
    assert choice.site_of == [10, 10] and choice.new_sites == [7] and choice.dated == [True]
    assert calls == []  # never placed by look among sites it has no link to (issue 17)


def test_a_photo_without_metadata_is_placed_by_look_among_its_uploads_sites_only():
    f = facts([("a", 7), ("b", 7)], recent=[("old", 3)], batch_sites={7: {5}})
    links = NewPhotoLinks(sessions=[([0], {6: 1})], runs=[], no_metadata=[1])
    choice, calls = choose(f, links)
    assert choice.site_of == [6, 6]
    assert calls == [("b", [6])]  # site 3 (recent, no link) is not a candidate; site 5 has no photo at hand
