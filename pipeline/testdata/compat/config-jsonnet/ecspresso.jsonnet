local must_env = std.native("must_env");
{
  region: "ap-northeast-1",
  cluster: "ecspresso-test",
  service: must_env("SERVICE"),
  task_definition: "ecs-task-def.json",
  timeout: "20m0s",
}
