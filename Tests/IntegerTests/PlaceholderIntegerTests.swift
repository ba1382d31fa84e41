import Testing

@Test func IntegerTestsBuilds() { #expect(Bool(true)) }
