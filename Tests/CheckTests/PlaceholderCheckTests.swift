import Testing

@Test func CheckTestsBuilds() { #expect(Bool(true)) }
