import Testing

@Test func OracleTestsBuilds() { #expect(Bool(true)) }
