local out = std.native("net_cfn_output");
local exp = std.native("net_cfn_export");
{
  family: "app",
  containerDefinitions: [{ name: "app", image: "nginx:latest", environment: [{ name: "VPC", value: out("app-network", "VpcId") }, { name: "SUBNET", value: exp("app-subnet") }] }],
}
