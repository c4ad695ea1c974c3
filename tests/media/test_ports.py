import pytest

from media.ports import PortAllocator, PortsExhausted


def test_allocates_even_ports_with_room_for_rtcp() -> None:
    ports = PortAllocator(20001, 20010)
    got = [ports.allocate() for _ in range(4)]
    assert got == [20002, 20004, 20006, 20008]
    assert all(p % 2 == 0 and p + 1 <= 20010 for p in got)
    assert ports.capacity == 4 and ports.in_use == 4 and ports.available == 0


def test_exhaustion_raises_clear_error() -> None:
    ports = PortAllocator(30000, 30003)
    assert [ports.allocate(), ports.allocate()] == [30000, 30002]
    with pytest.raises(PortsExhausted, match="30000-30003"):
        ports.allocate()


def test_release_returns_port_to_the_back_of_the_pool() -> None:
    ports = PortAllocator(40000, 40005)
    a, b = ports.allocate(), ports.allocate()
    ports.release(a)
    ports.release(a)  # double release is harmless
    ports.release(12345)  # foreign port ignored
    assert ports.allocate() == 40004  # not the one just released
    assert ports.allocate() == a
    ports.release(b)
    assert ports.available == 1 and ports.in_use == 2


@pytest.mark.parametrize(
    "first, last", [(20000, 20000), (0, 100), (20001, 20002), (30000, 70000), (500, 400)]
)
def test_invalid_ranges(first: int, last: int) -> None:
    with pytest.raises(ValueError):
        PortAllocator(first, last)
