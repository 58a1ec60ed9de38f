import KlingRenderCLI

await KlingRenderCommand.runMain()
