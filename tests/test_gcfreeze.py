"""A build keeps its data out of the cyclic collector's way, and gives the process its collector back."""

from __future__ import annotations

import gc

from civicsearch.index import gcfreeze


def test_a_build_freezes_what_it_holds_and_unfreezes_it_at_the_end() -> None:
    assert gc.get_freeze_count() == 0
    held = []
    with gcfreeze.building(every=3) as document:
        for n in range(7):
            held.append([n])  # a container the build keeps
            document()
        assert gc.get_freeze_count() > 0
        assert not any(o is held[0] for o in gc.get_objects())  # set aside
    assert gc.get_freeze_count() == 0
    assert any(o is held[0] for o in gc.get_objects())  # the collector sees it again


def test_a_process_that_froze_objects_itself_is_left_as_it_is() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gcfreeze.building(every=1) as document:
            document()
            document()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_nothing_changes_while_the_collector_is_off() -> None:
    gc.disable()
    try:
        with gcfreeze.building(every=1) as document:
            document()
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_what_the_start_up_set_aside_does_not_stop_a_build_freezing(monkeypatch) -> None:
    from civicsearch.index import gcfreeze as module

    monkeypatch.setattr(module, "_startup", 0)
    gc.disable()  # as the command imports
    try:
        started = [object()]  # made at start-up
        module.after_startup()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert not any(o is started for o in gc.get_objects())
        at_start = gc.get_freeze_count()
        held = []
        with gcfreeze.building(every=1) as document:
            held.append([1])
            document()
            assert gc.get_freeze_count() > at_start  # the build's own, frozen too
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.enable()
