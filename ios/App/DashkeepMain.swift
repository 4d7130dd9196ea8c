// The app target's entry point: an iOS App target in Xcode whose only source is this file and
// which depends on the local package ios/Dashkeep (product DashkeepApp). See docs/mobile.md.
import DashkeepApp
import SwiftUI

@main
struct DashkeepMain: App {
    var body: some Scene {
        WindowGroup { RootView() }
    }
}
