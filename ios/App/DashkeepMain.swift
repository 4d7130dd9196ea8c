// The app target's entry point: an iOS App target in Xcode whose only source is this file and
// which depends on the local package ios/Dashkeep (product DashkeepApp). See docs/mobile.md.
import DashkeepApp
import SwiftUI

@main
struct DashkeepMain: App {
    // Clip uploads on the background URLSession relaunch the app through this delegate.
    @UIApplicationDelegateAdaptor(DashkeepAppDelegate.self) private var delegate
    var body: some Scene {
        WindowGroup { RootView() }
    }
}
