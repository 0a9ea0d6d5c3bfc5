"""An analog clock drawn with tkinter."""

import math
import time
import tkinter as tk

SIZE = 300
CENTER = SIZE // 2
RADIUS = 130


def hand_angles(hour, minute, second):
    """Angles in degrees, clockwise from 12 o'clock, for the hour, minute and second hands."""
    second_angle = second * 6.0
    minute_angle = minute * 6.0 + second * 0.1
    hour_angle = (hour % 12) * 30.0 + minute * 0.5
    return hour_angle, minute_angle, second_angle


def hand_end(cx, cy, angle, length):
    """End point of a hand of the given length at angle degrees clockwise from 12."""
    radians = math.radians(angle)
    return cx + length * math.sin(radians), cy - length * math.cos(radians)


class ClockApp:
    def __init__(self, root):
        self.root = root
        self.root.title("Analog Clock")
        self.canvas = tk.Canvas(root, width=SIZE, height=SIZE, bg="white")
        self.canvas.pack()
        self.hands = {}
        self.draw_face()
        self.tick()

    def draw_face(self):
        c = self.canvas
        c.create_oval(CENTER - RADIUS, CENTER - RADIUS, CENTER + RADIUS, CENTER + RADIUS, width=3)
        for hour in range(12):
            angle = hour * 30
            outer = hand_end(CENTER, CENTER, angle, RADIUS - 4)
            inner = hand_end(CENTER, CENTER, angle, RADIUS - (18 if hour % 3 == 0 else 10))
            c.create_line(*inner, *outer, width=3 if hour % 3 == 0 else 1)
        c.create_oval(CENTER - 5, CENTER - 5, CENTER + 5, CENTER + 5, fill="black")

    def draw_hand(self, name, angle, length, width, color):
        if name in self.hands:
            self.canvas.delete(self.hands[name])
        end = hand_end(CENTER, CENTER, angle, length)
        self.hands[name] = self.canvas.create_line(
            CENTER, CENTER, *end, width=width, fill=color, capstyle=tk.ROUND
        )

    def tick(self):
        now = time.localtime()
        hour_angle, minute_angle, second_angle = hand_angles(now.tm_hour, now.tm_min, now.tm_sec)
        self.draw_hand("hour", hour_angle, RADIUS * 0.5, 6, "black")
        self.draw_hand("minute", minute_angle, RADIUS * 0.75, 4, "black")
        self.draw_hand("second", second_angle, RADIUS * 0.9, 1, "red")
        self.root.after(1000, self.tick)


def main():
    root = tk.Tk()
    ClockApp(root)
    root.mainloop()


if __name__ == "__main__":
    main()
