local env = std.native("env");
local must_env = std.native("must_env");
{
  family: env("FAMILY", "app"),
  containerDefinitions: [{ name: "app", image: must_env("IMAGE"), memory: env("MEMORY", 512) }],
}
