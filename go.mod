module github.com/ecs-pipeline/ecs-pipeline

go 1.25
