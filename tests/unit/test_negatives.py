"""The negative library holds real images of every group `benchmark refusal` reports, decoded from the packages'
own files (no download; pydicom-data comes from PyPI), and its variants stay grey images of a sane size."""

from engine.data.negatives import GROUPS, negatives, with_variants


def test_every_group_has_real_sources_and_each_source_is_one_image():
    items = negatives()
    groups = {n.group for n in items}
    assert groups == set(GROUPS), f"groups without a source: {set(GROUPS) - groups}"
    sources = [n.source for n in items]
    assert len(sources) == len(set(sources))
    for must in (
        "ct-head",
        "ct-spine",
        "nm-whole-body",
        "us-lymph-node",
        "mr-abdomen",
        "xray-chest",
        "mr-shoulder",
        "photo-flower",
        "camera",
        "ct-neck",
        "pet-head",
        "mr-knee",
    ):
        assert must in sources


def test_variants_keep_the_source_and_are_grey_views_of_bounded_size():
    items = negatives()[:5]
    out = with_variants(items, 3, seed=2)
    assert len(out) == sum(1 + len(n.renderings) + 3 for n in items)
    first = 1 + len(items[0].renderings) + 3
    assert [n.source for n in out[:first]] == [items[0].source] * first
    for n in out:
        n.image.convert("L")
        assert 8 <= min(n.image.size) and max(n.image.size) <= 1024


def test_the_unseen_negatives_stay_out_of_the_library():
    """`benchmark refusal` reports assets/reference/unseen-negatives as images the check never learnt from: neither
    they nor a near copy (the same image re-encoded or resized) may enter the library it learns from."""
    import imagehash
    from PIL import Image

    from engine.data.negatives import GROUPS
    from engine.settings import REPO_ROOT

    unseen = sorted((REPO_ROOT / "assets" / "reference" / "unseen-negatives").glob("*.png"))
    assert len(unseen) >= 5
    assert {p.name.split("__")[0] for p in unseen} <= set(GROUPS)
    library = [imagehash.phash(image.convert("L"), hash_size=16) for n in negatives() for image in (n.image, *n.renderings)]
    for p in unseen:
        h = imagehash.phash(Image.open(p).convert("L"), hash_size=16)
        assert min(h - other for other in library) > 40, f"{p.name} is in the negative library"


def test_ct_files_in_hounsfield_units_are_also_shown_at_the_standard_windows():
    """A head CT arrives at whatever window its viewer had: the library's CT files that hold Hounsfield units are
    learnt at each preset too, as views of the same source (so leaving the source out leaves them all out)."""
    import numpy as np

    from engine.data.negatives import CT_WINDOWS

    items = {n.source: n for n in negatives()}
    head = items["ct-head"]
    assert len(head.renderings) == len(CT_WINDOWS)
    means = [float(np.asarray(image).mean()) for image in head.renderings]
    assert len({round(m) for m in means}) == len(means), "each window shows the file differently"
    assert all(n.renderings == () for n in items.values() if n.group != "ct")
    assert items["ct-head-enhanced"].renderings == (), "stored values that are not Hounsfield units get no presets"
    views = with_variants([head], 8, seed=1)
    assert len(views) == 1 + len(CT_WINDOWS) + 8
    assert {n.source for n in views} == {"ct-head"}


def test_the_library_digest_changes_with_any_image_so_cached_check_rows_are_refitted():
    import dataclasses

    from engine.data.negatives import library_digest

    items = negatives()
    assert library_digest(items) == library_digest(negatives())
    fewer = [dataclasses.replace(n, renderings=n.renderings[:-1]) if n.renderings else n for n in items]
    assert library_digest(fewer) != library_digest(items)
