module gmsbench/heapgraph

go 1.19
