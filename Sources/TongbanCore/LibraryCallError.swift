/// A failed call into a C library, named: the function (or the check on its input) and what went wrong, in words for
/// the log. The wrappers' own words for the clerk come from the device classes that use them.
public struct LibraryCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function that failed (`EVP_DigestSignInit_ex`), or the check that refused its input.
    public var call: String
    /// What went wrong: the library's own reasons, or what was wrong with the input.
    public var message: String

    /// An error of `call`.
    public init(call: String, message: String) {
        self.call = call
        self.message = message
    }

    /// `call failed: message`.
    public var description: String { "\(call) failed: \(message)" }
}
