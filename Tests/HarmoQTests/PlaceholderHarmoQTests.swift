import Testing

@Test func HarmoQTestsBuilds() { #expect(Bool(true)) }
