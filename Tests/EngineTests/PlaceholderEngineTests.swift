import Testing

@Test func EngineTestsBuilds() { #expect(Bool(true)) }
