module gmsdemo

go 1.19
