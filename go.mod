module github.com/clusterhop/clusterhop

go 1.25
