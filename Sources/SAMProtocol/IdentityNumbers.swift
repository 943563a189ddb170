/// Check characters of identity numbers.
public enum IdentityNumbers {
    static let mod112Weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let mod112Characters = Array("10X98765432")

    /// ISO 7064 MOD 11-2 check character for the first 17 digits (`11010519491231002` → `X`).
    public static func mod112CheckCharacter(_ first17: String) -> Character? {
        let digits = first17.compactMap { $0.wholeNumberValue }
        guard first17.count == 17, digits.count == 17, first17.allSatisfy(\.isASCII) else { return nil }
        let sum = zip(digits, mod112Weights).reduce(0) { $0 + $1.0 * $1.1 }
        return mod112Characters[sum % 11]
    }

    /// True for an 18-character number whose last character is its MOD 11-2 check (`x` accepted as `X`).
    public static func isValidMod112(_ number: String) -> Bool {
        guard number.count == 18, let check = mod112CheckCharacter(String(number.prefix(17))) else { return false }
        return Character(number.last!.uppercased()) == check
    }

    /// ICAO 9303 check digit (weights 7-3-1; digits as themselves, A–Z as 10–35, `<` as 0).
    public static func icaoCheckDigit(_ text: String) -> Int? {
        var sum = 0
        for (index, character) in text.enumerated() {
            let value: Int
            if let digit = character.wholeNumberValue, character.isASCII { value = digit }
            else if character.isASCII, character.isUppercase, let ascii = character.asciiValue { value = Int(ascii) - 55 }
            else if character == "<" { value = 0 }
            else { return nil }
            sum += value * [7, 3, 1][index % 3]
        }
        return sum % 10
    }

    /// True for a 15-character 2017 foreigner number whose last digit is the ICAO check of the first 14.
    public static func isValidForeigner2017(_ number: String) -> Bool {
        guard number.count == 15, let last = number.last?.wholeNumberValue,
              number.prefix(3).allSatisfy({ $0.isASCII && $0.isUppercase }),
              number.dropFirst(3).allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return icaoCheckDigit(String(number.prefix(14))) == last
    }
}
