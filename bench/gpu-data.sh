#!/usr/bin/env bash
# A slice of the shared CIFAR-10 subset in the official binary layout, small enough to carry to
# the device machine beside the bundle (bench/gpu-pack.sh) within the device tool's 64 MiB: the
# first 5,000 records (3,073 bytes each) of data_batch_1.bin and the first 1,000 of
# test_batch.bin (RECORDS and TEST_RECORDS), in .gpu-data/cifar-10-batches-bin/ (ignored by
# git). The CPU side of the comparison trains on the same folder:
#   npx tsx examples/cifar10.ts --backend native --data .gpu-data/cifar-10-batches-bin --epochs 5
set -eu  # no pipefail: head closing the pipe early is the point
cd "$(dirname "$0")/.."
archive=${1:-../shared/data/cifar-10-binary-subset.tar.gz}
records=${RECORDS:-5000}
test_records=${TEST_RECORDS:-1000}
folder=.gpu-data/cifar-10-batches-bin
exclude="$(git rev-parse --git-dir)/info/exclude"
grep -qx '/.gpu-data/' "$exclude" 2>/dev/null || echo '/.gpu-data/' >> "$exclude"
rm -rf "$folder"
mkdir -p "$folder"
tar -xzOf "$archive" cifar-10-batches-bin/data_batch_1.bin | head -c $((records * 3073)) > "$folder/data_batch_1.bin"
tar -xzOf "$archive" cifar-10-batches-bin/test_batch.bin | head -c $((test_records * 3073)) > "$folder/test_batch.bin"
tar -xzOf "$archive" cifar-10-batches-bin/batches.meta.txt > "$folder/batches.meta.txt"
ls -l "$folder"
