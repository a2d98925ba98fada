"""A site the engine opens for an upload with no date, GPS or look it can link is named by
the upload's day; a second one of the same day gets a number (issue 17: two unrelated
uploads are never shown under one title)."""

from __future__ import annotations

import re

from edge_app.store import open_store, photos
from edge_app.store.sites import create_site, dated_name


def test_undated_uploads_of_one_day_get_distinct_names(tmp_path):
    st = open_store(tmp_path / "data")
    try:
        names = []
        for _ in range(3):
            batch = photos.start_batch(st, "upload", "lead")
            with st.write():
                name = dated_name(st, batch)
                create_site(st, "engine", name)
            names.append(name)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d 사진", names[0])
        assert names[1:] == [f"{names[0]} (2)", f"{names[0]} (3)"]
        with st.write():  # a person renamed the second: its number is free again
            st.conn.execute("UPDATE sites SET name = '창고 외벽' WHERE name = ?", (names[1],))
        assert dated_name(st, photos.start_batch(st, "upload", "lead")) == names[1]
    finally:
        st.close()
