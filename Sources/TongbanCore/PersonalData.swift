/// Masks personal data before it reaches a log, an event or an API response that was not explicitly unmasked.
///
/// The house format: ID numbers keep region and last four (`440203********1234`), names keep their first
/// character (`张*`).
public enum PersonalData {
    /// Masks an ID number: keeps the first 6 and last 4 characters of an 18-character number and of the
    /// 15-character foreigner number, replaces the rest with `*`. Short values become all `*`.
    public static func maskIDNumber(_ number: String) -> String {
        let characters = Array(number)
        guard characters.count >= 12 else { return String(repeating: "*", count: characters.count) }
        let hidden = characters.count - 10
        return String(characters.prefix(6)) + String(repeating: "*", count: hidden) + String(characters.suffix(4))
    }

    /// Masks a name: Chinese names keep the first character (`张三丰` → `张**`); Latin names keep the
    /// first letter of each word (`JOHN SMITH` → `J*** S****`).
    public static func maskName(_ name: String) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first else { return "" }
        if first.isASCII {
            return trimmed.split(separator: " ", omittingEmptySubsequences: false).map { word in
                guard let initial = word.first else { return "" }
                return String(initial) + String(repeating: "*", count: word.count - 1)
            }.joined(separator: " ")
        }
        return String(first) + String(repeating: "*", count: max(1, trimmed.count - 1))
    }

    /// Masks every run of characters in free text that looks like an ID number: 17 digits plus a digit or `X`
    /// (resident, HK/Macao/Taiwan permit, foreigner 2023), or 3 letters plus 12 digits (foreigner 2017).
    /// Used by the log handler on every message and metadata value, as a net under the explicit masking.
    public static func maskIDNumbers(inText text: String) -> String {
        let characters = Array(text)
        guard characters.count >= 15 else { return text }
        var output: [Character] = []
        output.reserveCapacity(characters.count)
        var index = 0
        while index < characters.count {
            if let length = idNumberLength(characters, at: index) {
                output.append(contentsOf: maskIDNumber(String(characters[index..<index + length])))
                index += length
            } else {
                output.append(characters[index])
                index += 1
            }
        }
        return String(output)
    }

    private static func idNumberLength(_ characters: [Character], at start: Int) -> Int? {
        // Not in the middle of a longer alphanumeric run.
        if start > 0, characters[start - 1].isASCIIAlphanumeric { return nil }
        func boundary(_ end: Int) -> Bool { end == characters.count || !characters[end].isASCIIAlphanumeric }
        if start + 18 <= characters.count,
           characters[start..<start + 17].allSatisfy(\.isASCIIDigit),
           characters[start + 17].isASCIIDigit || characters[start + 17] == "X" || characters[start + 17] == "x",
           boundary(start + 18) {
            return 18
        }
        if start + 15 <= characters.count,
           characters[start..<start + 3].allSatisfy({ $0.isASCII && $0.isUppercase }),
           characters[start + 3..<start + 15].allSatisfy(\.isASCIIDigit),
           boundary(start + 15) {
            return 15
        }
        return nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIIAlphanumeric: Bool { isASCII && (isLetter || isNumber) }
}
