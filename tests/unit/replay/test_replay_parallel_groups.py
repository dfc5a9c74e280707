from types import SimpleNamespace

from consumers.replay.parallel import MIN_RECORDS_PER_PROCESS, partition_groups, processes_for
from consumers.replay.ranges import PartitionRange


def _part(partition: int, size: int) -> PartitionRange:
    return PartitionRange(partition, 0, size, 0, size)


def test_groups_balance_records_and_skip_empty_partitions():
    parts = (_part(0, 100), _part(1, 60), _part(2, 50), _part(3, 0), _part(4, 40))
    groups = partition_groups(parts, 2)
    assert sorted(sum(p.size for p in g) for g in groups) == [110, 140]
    assert all(p.partition != 3 for g in groups for p in g)
    assert sorted(p.partition for g in groups for p in g) == [0, 1, 2, 4]


def test_no_more_groups_than_partitions_with_records():
    assert len(partition_groups((_part(0, 10), _part(1, 0)), 4)) == 1


def _replay(sizes, limit=None):
    parts = tuple(_part(i, s) for i, s in enumerate(sizes))
    return SimpleNamespace(limit=limit, range=SimpleNamespace(
        partitions=parts, size=sum(sizes)))


def test_only_a_large_jsonl_export_without_limit_is_split(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    big = [MIN_RECORDS_PER_PROCESS * 2] * 3
    assert processes_for(_replay(big), "jsonl") == 3
    assert processes_for(_replay(big), "csv") == 1
    assert processes_for(_replay(big, limit=10), "jsonl") == 1
    assert processes_for(_replay([1000, 1000, 1000]), "jsonl") == 1  # too small to pay off
    assert processes_for(_replay(big), "jsonl", requested=2) == 2
    assert processes_for(_replay([5, 5, 0]), "jsonl", requested=3) == 2  # busy partitions
