import Logging

/// A swift-log handler that masks ID numbers in every message and metadata value before passing the record on.
///
/// Every Tongban process installs it (`LoggingSystem.bootstrap`) around its real handler, so a module that
/// forgets to mask still cannot leak a full ID number into a log. Names cannot be recognised in free text:
/// code logs them through `PersonalData.maskName`.
public struct MaskingLogHandler: LogHandler {
    private var wrapped: any LogHandler

    public init(wrapping handler: any LogHandler) {
        self.wrapped = handler
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(Self.mask) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(Self.mask) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(PersonalData.maskIDNumbers(inText: event.message.description))"
        event.metadata = event.metadata?.mapValues(Self.mask)
        wrapped.log(event: event)
    }

    static func mask(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(PersonalData.maskIDNumbers(inText: text))
        case .stringConvertible(let convertible): .string(PersonalData.maskIDNumbers(inText: convertible.description))
        case .array(let values): .array(values.map(mask))
        case .dictionary(let values): .dictionary(values.mapValues(mask))
        }
    }
}
