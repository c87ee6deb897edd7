{
  family: "katsubushi",
  ephemeralStorage: { sizeInGiB: std.extVar("EphemeralStorage") },
  containerDefinitions: [{
    name: "katsubushi",
    image: "katsubushi/katsubushi:latest",
    environment: [{ name: "worker_id", value: std.extVar("WorkerID") }],
    dockerLabels: { name: "katsubushi" },
  }],
}
