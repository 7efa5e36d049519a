module gmsbench/bigmap

go 1.19
