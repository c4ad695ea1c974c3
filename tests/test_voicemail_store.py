"""softswitch/store/voicemail.py on a real SQLite file."""

from softswitch.store import Store
from softswitch.store.voicemail import BoxRecord, MessageCounts, VoicemailStore


def test_messages_counts_heard_and_delete_survive_reopening(store_url):
    store = Store(store_url)
    vm = VoicemailStore(store.db)
    vm.put_box(BoxRecord("102", "scrypt$x", ""))
    first = vm.add_message("102", "101", 1000.0, 3.5, "a.wav")
    second = vm.add_message("102", "0612345678", 2000.0, 7.25, "b.wav")
    vm.add_message("103", "101", 1500.0, 1.0, "c.wav")
    assert vm.counts("102") == MessageCounts(2, 0)
    assert vm.mark_heard("102", first.id)
    assert not vm.mark_heard("103", first.id)  # another box's id is not this box's
    assert vm.counts("102") == MessageCounts(1, 1)
    store.close()

    vm = VoicemailStore(Store(store_url).db)
    assert [m.file for m in vm.messages("102")] == ["a.wav", "b.wav"]
    assert [m.id for m in vm.messages("102", heard=False)] == [second.id]
    assert [m.id for m in vm.messages("102", heard=True)] == [first.id]
    assert vm.message("102", second.id).duration == 7.25
    assert vm.message("103", second.id) is None
    vm.set_transcript(second.id, "call me back")
    assert vm.message("102", second.id).transcript == "call me back"
    assert vm.delete_message("102", first.id).file == "a.wav"
    assert vm.delete_message("102", first.id) is None
    assert vm.counts("102") == MessageCounts(1, 0)
    assert vm.counts("999") == MessageCounts(0, 0)


def test_boxes_greeting_and_cleanup(store_url):
    vm = VoicemailStore(Store(store_url).db)
    vm.put_box(BoxRecord("102", "h", ""))
    vm.put_box(BoxRecord("103", "h", ""))
    vm.set_greeting("102", "greeting.wav")
    assert vm.box("102") == BoxRecord("102", "h", "greeting.wav")
    vm.delete_boxes_except(["102"])
    assert vm.box("103") is None and vm.box("102") is not None
