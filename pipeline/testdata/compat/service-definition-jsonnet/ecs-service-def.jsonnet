local env = std.native("env");
{
  launchType: "FARGATE",
  desiredCount: std.parseInt(env("COUNT", "1")),
  deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
}
