import Testing

@Test func IOTestsBuilds() { #expect(Bool(true)) }
