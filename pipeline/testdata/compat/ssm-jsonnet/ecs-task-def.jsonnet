local ssm = std.native("ssm");
local ssm_list = std.native("ssm_list");
{
  family: "app",
  containerDefinitions: [{ name: "app", image: ssm("/app/image"), environment: [{ name: "S", value: ssm_list("/app/subnets", 2) }] }],
}
