local env = std.native("env");
{
  family: env("FAMILY", "app"),
  containerDefinitions: [{ name: "app", image: "nginx:" + env("TAG", "latest") }],
}
